"""PNG plots of the impact report (matplotlib, no display needed).

A plot costs ~0.1-0.2 s; a territory rerun or a nightly run on an unchanged ledger redraws
the same figures, so `draw_cached` copies the previous run's PNG when the plotted data,
the goal and this module's code are unchanged (a sidecar `.key` file holds the digest).
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

import polars as pl


@lru_cache(maxsize=1)
def _pyplot() -> Any:
    """matplotlib, imported on the first plot actually drawn: its import costs seconds,
    and a rerun on an unchanged ledger copies every plot (`draw_cached`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


_HIRES = "#1f6f8b"
_DATA = "#99c4c8"
_GOAL = "#c0392b"


def plot_bands(bands: pl.DataFrame, goal: float, path: Path) -> Path:
    """Conversion by hiring-potential band, with its 95 % interval and the goal line."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    if not bands.is_empty():
        x = list(range(bands.height))
        conv = [v * 100 for v in bands["taux_conversion"]]
        low = [(c - lo * 100) for c, lo in zip(conv, bands["taux_conversion_min95"], strict=True)]
        high = [(hi * 100 - c) for c, hi in zip(conv, bands["taux_conversion_max95"], strict=True)]
        ax.bar(
            [i - 0.2 for i in x],
            conv,
            width=0.4,
            color=_HIRES,
            label="embauches déclarées",
            yerr=[low, high],
            capsize=3,
        )
        ax.bar(
            [i + 0.2 for i in x],
            [v * 100 for v in bands["taux_succes_possibles"]],
            width=0.4,
            color=_DATA,
            label="succès possibles (données)",
        )
        labels = [
            f"{b}\n(n={n})"
            for b, n in zip(bands["potential_band"], bands["promotions"], strict=True)
        ]
        ax.set_xticks(x, labels, fontsize=8)
    ax.axhline(goal * 100, color=_GOAL, linestyle="--", label=f"objectif {goal:.0%}")
    ax.set_xlabel("potentiel d'embauche de l'entreprise au moment de la promotion")
    ax.set_ylabel("% des promotions")
    ax.set_title("Conversion selon le potentiel d'embauche")
    ax.legend(fontsize=8)
    fig.subplots_adjust(left=0.1, right=0.9, top=0.9, bottom=0.22)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_months(months: pl.DataFrame, goal: float, path: Path) -> Path:
    """Promotions per month (bars) and the month's conversion rate (line) against the goal."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.6), dpi=100)
    if not months.is_empty():
        labels = [m.strftime("%m/%Y") for m in months["month"]]
        x = list(range(months.height))
        ax.bar(x, months["promotions"].to_list(), color=_DATA, label="promotions")
        ax.bar(x, months["embauches"].to_list(), color=_HIRES, label="embauches")
        ax.set_xticks(x, labels, fontsize=8, rotation=45)
        ax2 = ax.twinx()
        ax2.plot(
            x,
            [v * 100 for v in months["taux_conversion"]],
            color="black",
            marker="o",
            label="conversion (%)",
        )
        ax2.axhline(goal * 100, color=_GOAL, linestyle="--", label=f"objectif {goal:.0%}")
        ax2.set_ylabel("conversion (%)")
        ax2.set_ylim(bottom=0)
        ax2.legend(loc="upper right", fontsize=8)
    ax.set_ylabel("nombre")
    ax.set_title("Promotions et embauches par mois")
    ax.legend(loc="upper left", fontsize=8)
    fig.subplots_adjust(left=0.1, right=0.9, top=0.9, bottom=0.22)
    fig.savefig(path)
    plt.close(fig)
    return path


_CODE_DIGEST = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()


def plot_key(df: pl.DataFrame, goal: float) -> str:
    """Digest of everything a plot depends on: its rows, the goal and the plotting code."""
    h = hashlib.sha256(_CODE_DIGEST.encode())
    h.update(repr(goal).encode())
    h.update(repr(df.schema).encode())
    h.update(df.write_csv().encode("utf-8"))
    return h.hexdigest()


def draw_cached(
    plot: Callable[[pl.DataFrame, float, Path], Path],
    df: pl.DataFrame,
    goal: float,
    path: Path,
    previous: Path | None,
) -> bool:
    """Draw `plot` into `path`, or copy `previous`'s file of the same key; True if copied."""
    key = plot_key(df, goal)
    sidecar = path.with_suffix(".key")
    if previous is not None:
        old, old_key = previous / path.name, (previous / path.name).with_suffix(".key")
        if old.is_file() and old_key.is_file() and old_key.read_text().strip() == key:
            if old.resolve() != path.resolve():  # a resumed run rewrites its own folder
                shutil.copy2(old, path)
                sidecar.write_text(key)
            return True
    plot(df, goal, path)
    sidecar.write_text(key)
    return False
