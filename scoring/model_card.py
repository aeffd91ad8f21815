"""The model card of one trained model: Markdown + matplotlib PNGs, written per run.

Written to `<settings.output>/model_cards/<model_id>/model_card.md` with
`calibration.png`, `precision_at_k.png` and `permutation_importance.png` beside it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ciblage.config import PROJECT_ROOT
from scoring.backtest import METHODS

TEMPLATES = PROJECT_ROOT / "reports" / "templates"
N_REPEATS = 3
# Rows the permutation importance predicts on, (features x repeats + 1) times: with 46
# features a prediction of 20,000 rows took 0.8 s, so the card cost two minutes of the
# score stage at any scale (2026-11-28, scale 0.005). 5,000 rows give the card its
# ordering, with wider error bars (which it draws), in a quarter of the time.
IMPORTANCE_ROWS = 5_000
LABELS = {
    "model": "modèle",
    "prior": "référence lissée (repli)",
    "headcount": "plus gros effectif d'abord",
    "past_12m": "plus d'embauches/offres sur 12 mois d'abord",
}
LABEL_TEXT = {
    "hires_siret": "per-SIRET hires in the horizon (hires_siret)",
    "offres": "positions of job offers linked to the establishment in the horizon",
}


def _plots(
    out: Path, backtest: dict[str, Any], frame: pd.DataFrame | None, reg: Any, seed: int
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ranking = backtest.get("ranking", {})
    fig, ax = plt.subplots(figsize=(6, 4))
    for m in METHODS:
        curve = (ranking.get(m) or {}).get("precision_curve") or []
        if curve:
            ax.plot(range(1, len(curve) + 1), curve, marker="o", ms=3, label=LABELS[m])
    ax.set_xlabel("k (rang dans la liste département × ROME)")
    ax.set_ylabel("précision@k")
    ax.set_ylim(0, 1)
    ax.legend()
    ax.set_title("Back-test : précision@k")
    fig.tight_layout()
    fig.savefig(out / "precision_at_k.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(5, 5))
    cal = backtest.get("calibration")
    if cal:
        ax.plot(cal["mean_predicted"], cal["observed"], marker="o", label="modèle")
    ax.plot([0, 1], [0, 1], ls="--", c="grey", label="parfait")
    ax.set_xlabel("probabilité prédite d'au moins une embauche")
    ax.set_ylabel("fréquence observée")
    ax.legend()
    ax.set_title("Back-test : calibration")
    fig.tight_layout()
    fig.savefig(out / "calibration.png", dpi=110)
    plt.close(fig)

    if frame is not None and reg is not None:
        from sklearn.inspection import permutation_importance

        from scoring.features import FEATURES, matrix
        from scoring.model import MuEstimator, sk_threads

        X, y = matrix(frame), frame["y"].to_numpy(dtype=float)
        with sk_threads():
            imp = permutation_importance(
                MuEstimator(reg),
                X,
                y,
                scoring="neg_mean_poisson_deviance",
                n_repeats=N_REPEATS,
                random_state=seed,
                max_samples=min(IMPORTANCE_ROWS, len(y)),
            )
        order = np.argsort(imp.importances_mean)[::-1][:15][::-1]
        fig, ax = plt.subplots(figsize=(6, 5))
        ax.barh(
            [FEATURES[i] for i in order],
            imp.importances_mean[order],
            xerr=imp.importances_std[order],
        )
        ax.set_xlabel("hausse de la déviance de Poisson")
        ax.set_title("Importance par permutation (back-test)")
        fig.tight_layout()
        fig.savefig(out / "permutation_importance.png", dpi=110)
        plt.close(fig)


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def warnings(metadata: dict[str, Any]) -> list[str]:
    """What a reader must see first: a refused model, a miscalibrated or losing back-test."""
    out = []
    g = metadata.get("gate") or {}
    if not g.get("passed", True):
        out.append(
            f"the model gate refused the model ({g.get('reason')}); the lists are ranked by "
            "the baseline (shrunk past rate)."
        )
    b = metadata.get("backtest") or {}
    if b.get("hires_observed"):
        ratio = b["hires_predicted"] / b["hires_observed"]
        if not 0.8 <= ratio <= 1.25:
            out.append(f"back-test calibration ratio {ratio:.2f} outside [0.8, 1.25].")
    if metadata["label_mode"] == "offres":
        out.append("labels are linked job offers, not hires (no per-SIRET hires loaded).")
    return out


def versus_text(backtest: dict[str, Any]) -> str:
    r = backtest.get("ranking", {})
    model = (r.get("model") or {}).get("precision_at_10")
    parts = []
    for b in ("headcount", "past_12m"):
        base = (r.get(b) or {}).get("precision_at_10")
        if model is None or base is None:
            continue
        rel = f" ({(model / base - 1) * 100:+.0f} %)" if base > 0 else ""
        parts.append(f"{model - base:+.3f}{rel} vs {LABELS[b]}")
    return "; ".join(parts) or "not measurable (no group with a hire)"


def write_model_card(
    out_dir: Path,
    metadata: dict[str, Any],
    model_path: Path,
    frame: pd.DataFrame | None,
    backtest_reg: Any,
) -> Path:
    """Render the card and its plots; returns the Markdown path."""
    import jinja2

    out_dir.mkdir(parents=True, exist_ok=True)
    t = metadata["training"]
    b = metadata.get("backtest") or {}
    _plots(out_dir, b, frame, backtest_reg, int(t.get("seed", 42)))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    text = env.get_template("model_card.md.j2").render(
        m=metadata,
        t=t,
        b=b,
        r=b.get("ranking", {}),
        params=", ".join(f"{k}={v}" for k, v in t["params"].items()),
        path=model_path,
        label_text=LABEL_TEXT[metadata["label_mode"]],
        tuning_rows=t["tuning"] if isinstance(t["tuning"], list) else [],
        signal_word="hires" if metadata["label_mode"] == "hires_siret" else "offers",
        versus=versus_text(b),
        warnings=warnings(metadata),
        g=metadata.get("gate") or {"passed": True, "checks": [], "bound": 0.0},
        n_repeats=N_REPEATS,
        fmt=_fmt,
    )
    path = out_dir / "model_card.md"
    path.write_text(text, encoding="utf-8")
    return path
