"""Builders of small real run folders and warehouses (imported by the orchestration tests).

A "run" here is what the publish stage leaves behind: `targets.parquet` with the
contract's list columns, and a warehouse holding `etablissement` and
`score_etablissement` for the as-of date (only the columns the gates read).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from ciblage.config import Settings
from ciblage.publish.target_files import read_targets
from ciblage.warehouse import session

AS_OF = date(2026, 11, 1)


def write_scores(settings: Settings, potentials: dict[str, tuple[str, int]]) -> None:
    """Replace the warehouse's scores: siret -> (département, hiring_potential)."""
    rows = [(s, d, p) for s, (d, p) in potentials.items()]
    with session(settings.warehouse) as con:
        con.execute(
            "CREATE OR REPLACE TABLE etablissement (siret VARCHAR, siren VARCHAR, "
            "code_departement VARCHAR, is_diffusible BOOLEAN)"
        )
        con.execute("CREATE OR REPLACE TABLE unite_legale (siren VARCHAR, is_diffusible BOOLEAN)")
        con.execute(
            "CREATE OR REPLACE TABLE score_etablissement "
            "(as_of DATE, siret VARCHAR, hiring_potential INTEGER)"
        )
        if not rows:
            return
        con.executemany(
            "INSERT INTO etablissement VALUES (?, ?, ?, true)", [(s, s[:9], d) for s, d, _ in rows]
        )
        con.executemany(
            "INSERT INTO score_etablissement VALUES (?, ?, ?)", [(AS_OF, s, p) for s, _, p in rows]
        )


def scores(n_per_dep: int = 40, deps: tuple[str, ...] = ("45", "18"), shift: int = 0):
    """Deterministic potentials: siret i of a département has potential (i*7 + shift) % 101."""
    return {
        f"{dep}{i:012d}": (dep, (i * 7 + shift) % 101) for dep in deps for i in range(n_per_dep)
    }


ROMS = ("M1607", "N1103", "K2204")


def lists(potentials: dict[str, tuple[str, int]], roms: tuple[str, ...] = ROMS) -> pl.DataFrame:
    """One list per (département, ROME), ranked by potential: what targets.parquet holds."""
    rows = []
    for dep in sorted({d for d, _ in potentials.values()}):
        ranked = sorted(
            (s for s, (d, _) in potentials.items() if d == dep),
            key=lambda s: (-potentials[s][1], s),
        )
        for k, rome in enumerate(roms):
            chosen = ranked[k : k + 20]
            for rank, siret in enumerate(chosen, start=1):
                rows.append(
                    {
                        "territory_level": "departement",
                        "territory_code": dep,
                        "code_rome": rome,
                        "rank": rank,
                        "siret": siret,
                        "hiring_potential": potentials[siret][1],
                    }
                )
    return pl.DataFrame(rows)


# A small model: these tests check orchestration (resume, equality of results, gates,
# fan-out), not model quality, and train several times.
FAST_SCORING = {"max_iter": "40", "grid": "[[1.0, 20]]", "n_snapshots": "3"}


def clone_config(config: Path, work: Path, fast: bool = True) -> Path:
    """A copy of a test config (same sample) whose warehouse and outputs live in `work`."""
    work.mkdir(parents=True, exist_ok=True)
    text = config.read_text(encoding="utf-8").replace(config.parent.as_posix(), work.as_posix())
    if fast:
        text = _set_section(text, "scoring", FAST_SCORING)
    dst = work / "ciblage.toml"
    dst.write_text(text, encoding="utf-8")
    return dst


def _set_section(text: str, section: str, values: dict[str, str]) -> str:
    """Set keys of a TOML table, replacing those already set in it."""
    lines = text.splitlines()
    header = f"[{section}]"
    if header not in (line.strip() for line in lines):
        return text + f"\n{header}\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
    out, inside = [], False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("["):
            inside = stripped == header
            out.append(line)
            if inside:
                out += [f"{k} = {v}" for k, v in values.items()]
            continue
        if inside and stripped.split("=")[0].strip() in values:
            continue
        out.append(line)
    return "\n".join(out) + "\n"


# columns that differ between two runs of the same data by construction
RUN_SPECIFIC = {"run_id", "generated_at", "published_at", "created_at"}


def comparable_targets(run_dir: Path) -> pl.DataFrame:
    df = read_targets(run_dir)
    keep = [c for c in df.columns if c not in RUN_SPECIFIC]
    return df.select(keep).sort("territory_level", "territory_code", "code_rome", "rank")


def comparable_scores(warehouse: Path) -> pl.DataFrame:
    with session(warehouse, read_only=True) as con:
        return con.sql(
            "SELECT as_of, siret, expected_hires, p_hire, hiring_potential, stars, "
            "model_id, label_mode FROM score_etablissement ORDER BY as_of, siret"
        ).pl()


def install_stage_flows(monkeypatch: Any, ingest: Any, score: Any, publish: Any) -> None:
    """Replace the three stage flows the nightly flow imports by stand-ins (fast tests of
    the chaining rules: resume, outcomes)."""
    import sys
    import types

    for name, fn, attr in (
        ("ingest", ingest, "ingest_flow"),
        ("score", score, "score_flow"),
        ("publish", publish, "publish_flow"),
    ):
        mod = types.ModuleType(f"pipelines.{name}")
        setattr(mod, attr, fn)
        monkeypatch.setitem(sys.modules, f"pipelines.{name}", mod)
