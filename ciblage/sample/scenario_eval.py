"""Run the real pipeline on a world and score its published lists against the truth.

Shared by `bench/model_scenarios.py` and the CI scenario test, so that both measure the
same thing: the département lists of `<output>/latest/targets/` as a user gets
them from `ciblage run`, against simple rankings of the same candidates (the eligible
establishments the publish stage could rank: active, diffusible, NAF linked to the ROME,
in the département; sql/eligible_etablissement.sql read from the world's warehouse).
A list shorter than 10 counts its empty positions as misses; only (département, ROME)
groups where at least one candidate really hired in the 6 months after as-of count.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from ciblage.config import PROJECT_ROOT, write_relocated_config
from ciblage.publish.target_files import read_targets
from ciblage.sample.establishments import ALL_BANDS
from ciblage.sample.world_files import add_months
from ciblage.warehouse import run_sql_file

K = 10
MODES = ("hires_siret", "offres")
# method -> (score column, tie-break column): ties are broken as scoring/backtest.py does
BASELINES = {
    "headcount": ("headcount", "siret_only"),
    "past_hires": ("past_hires", "headcount"),
    "past_offers": ("past_offers", "headcount"),
    "true_rate": ("true_rate", "headcount"),
}


def write_config(
    world: Path, work: Path, mode: str, levels: tuple[str, ...] = ("departement",)
) -> Path:
    """The shipped ciblage.toml pointed at the world; without hires_siret in offers mode.

    Only the département level is published by default: the scores and the lists measured
    are the same, and agency files and pages would be most of the run's time.
    """
    work.mkdir(parents=True, exist_ok=True)
    path = write_relocated_config(work / "ciblage.toml", world, work)
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^ledger = .*$", "ledger = []", text)  # no promotions in a world
    text = re.sub(r"(?m)^levels = .*$", f"levels = {json.dumps(list(levels))}", text)
    if mode == "offres":
        text = re.sub(r'(?m)^\[sources\.hires_siret\]\npath = "[^"]*"\n', "", text)
    path.write_text(text, encoding="utf-8")
    return path


def run_pipeline(config: Path, as_of: dt.date, log: Path) -> dict[str, Any]:
    """`ciblage run --config … --as-of …` as a subprocess, as a user would run it."""
    exe = Path(sys.executable).parent / "ciblage"
    cmd = [str(exe), "run", "--config", str(config), "--as-of", as_of.isoformat()]
    started = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, env=os.environ.copy()
        )
    return {"returncode": proc.returncode, "seconds": round(time.perf_counter() - started, 1)}


def _candidates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    run_sql_file(con, "eligible_etablissement", etablissement="etablissement")
    df = con.execute(
        """
        SELECT el.siret, e.code_departement, nr.code_rome, e.tranche_effectifs
        FROM eligible_etablissement el
        JOIN etablissement e USING (siret)
        JOIN ref_naf_rome nr ON nr.naf_code = el.naf_code
        """
    ).df()
    rank = {b: i for i, b in enumerate(ALL_BANDS)}
    df["headcount"] = df["tranche_effectifs"].map(rank).fillna(-1).astype(float)
    df["siret_only"] = 0.0
    return df.drop(columns="tranche_effectifs")


def full_ranking(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Top 10 of every (département, ROME) ranked as the publish stage orders them, without
    its potential threshold (`[publish] min_potential`): the model's ranking quality, apart
    from the decision of how many companies a list shows. It ranks the stored per-trade
    scores, which hold no trade at potential 0 (`scoring.scorer.MIN_STORED_POTENTIAL`).
    Needs `_candidates` first (it builds eligible_etablissement)."""
    return con.execute(
        """
        SELECT e.code_departement, s.code_rome, s.siret,
            row_number() OVER (PARTITION BY e.code_departement, s.code_rome
                ORDER BY s.hiring_potential DESC, s.expected_hires DESC, s.siret) AS rank
        FROM score_etablissement_rome s
        JOIN eligible_etablissement el USING (siret)
        JOIN etablissement e USING (siret)
        JOIN ref_naf_rome nr ON nr.naf_code = el.naf_code AND nr.code_rome = s.code_rome
        WHERE s.as_of = (SELECT max(as_of) FROM score_etablissement_rome)
        QUALIFY rank <= 10
        """
    ).df()


def _past_hires(world: Path, as_of: dt.date) -> pd.DataFrame | None:
    path = world / "hires" / "embauches_siret.csv"
    if not path.exists():
        return None
    lo, hi = add_months(as_of, -12).strftime("%Y-%m"), as_of.strftime("%Y-%m")
    df = pd.read_csv(path, sep=";", dtype={"siret": str, "mois": str, "code_rome": str})
    df = df[(df["mois"].str[:7] >= lo) & (df["mois"].str[:7] < hi)]
    return (
        df.groupby(["siret", "code_rome"], as_index=False)["nombre_embauches"]
        .sum()
        .rename(columns={"nombre_embauches": "past_hires"})
    )


def _offers(world: Path) -> list[dict]:
    docs: list[dict] = []
    for p in sorted((world / "offres").glob("*.json")):
        docs += json.loads(p.read_text(encoding="utf-8"))["resultats"]
    for p in sorted((world / "offres").glob("*.jsonl")):
        docs += [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]
    return docs


def _past_offers(world: Path, as_of: dt.date) -> pd.DataFrame:
    """Offers created in the 12 months before as_of, per TRUE employer and ROME."""
    with (world / "truth" / "offres_siret_truth.csv").open(encoding="utf-8") as f:
        truth = {r["offre_id"]: r["siret"] for r in csv.DictReader(f, delimiter=";")}
    lo, hi = add_months(as_of, -12).isoformat(), as_of.isoformat()
    counts = Counter(
        (truth[o["id"]], o["romeCode"]) for o in _offers(world) if lo <= o["dateCreation"] < hi
    )
    rows = [(s, r, n) for (s, r), n in counts.items()]
    return pd.DataFrame(rows, columns=["siret", "code_rome", "past_offers"])


def _ranked_metrics(rel: np.ndarray, n_cand: int, ideal: np.ndarray) -> tuple[float, float]:
    """precision@K (denominator min(K, candidates)) and NDCG@K of one ranked relevance list."""
    top = rel[:K]
    prec = float((top > 0).sum()) / min(K, n_cand)
    disc = 1.0 / np.log2(np.arange(2, K + 2))
    dcg = float((top * disc[: len(top)]).sum())
    best = np.sort(ideal)[::-1][:K]
    idcg = float((best * disc[: len(best)]).sum())
    return prec, dcg / idcg if idcg > 0 else 0.0


def list_metrics(cands: pd.DataFrame, lists: pd.DataFrame, best: str) -> dict[str, Any]:
    """Mean precision@10 / NDCG@10 over groups with a hire: published lists and baselines.

    `cands`: siret, code_departement, code_rome, y and one column per baseline;
    `lists`: code_departement, code_rome, rank, siret (the published département lists);
    `best`: the baseline of the run's label mode (past_hires or past_offers).
    """
    keys = zip(cands["siret"], cands["code_rome"], strict=True)
    y = dict(zip(keys, cands["y"], strict=True))  # real hires per (siret, ROME)
    by_group = {
        k: g for k, g in lists.sort_values("rank").groupby(["code_departement", "code_rome"])
    }
    scores: dict[str, list[tuple[float, float]]] = {"lists": []}
    methods = [m for m, (col, _) in BASELINES.items() if cands[col].notna().any()]
    scores.update({m: [] for m in methods})
    for key, g in cands.groupby(["code_departement", "code_rome"]):
        ideal = g["y"].to_numpy(dtype=float)
        if not (ideal > 0).any():
            continue
        listed = by_group.get(key)
        rel = (
            np.array([y.get((s, key[1]), 0.0) for s in listed["siret"]], dtype=float)
            if listed is not None
            else np.zeros(0)
        )
        scores["lists"].append(_ranked_metrics(rel, len(g), ideal))
        for m in methods:
            col, tie = BASELINES[m]
            ranked = g.sort_values([col, tie, "siret"], ascending=[False, False, True])
            scores[m].append(_ranked_metrics(ranked["y"].to_numpy(dtype=float), len(g), ideal))
    out: dict[str, Any] = {"groups": len(scores["lists"])}
    if scores["lists"]:
        # paired per-group difference lists - label-mode baseline: its standard error
        # says how far apart two rankings of the same candidates can be by chance
        diff = np.array(scores["lists"])[:, 0] - np.array(scores[best])[:, 0]
        out["mode_baseline"] = best
        out["diff_vs_mode_baseline"] = float(diff.mean())
        out["diff_se"] = float(diff.std(ddof=1) / np.sqrt(len(diff))) if len(diff) > 1 else None
    for m, vals in scores.items():
        arr = np.array(vals) if vals else np.full((1, 2), np.nan)
        out[m] = {"precision_at_10": float(arr[:, 0].mean()), "ndcg_at_10": float(arr[:, 1].mean())}
    for m in BASELINES:
        out.setdefault(m, None)
    return out


def _find(obj: Any, key: str) -> Any:
    """First value of `key` in a nested JSON object (registry metrics change shape)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        for v in obj.values():
            found = _find(v, key)
            if found is not None:
                return found
    return None


def model_figures(con: duckdb.DuckDBPyConnection, warehouse: Path, as_of: dt.date) -> dict:
    """Back-test calibration, label mode, gate verdict and largest prediction of the run."""
    row = con.execute(
        "SELECT model_id, label_mode, metrics FROM model_registry "
        "ORDER BY as_of = CAST(? AS DATE) DESC, trained_at DESC LIMIT 1",
        [as_of],
    ).fetchone()
    out: dict[str, Any] = {"model_id": None, "label_mode": None, "calibration_ratio": None}
    meta: dict = {}
    if row:
        out["model_id"], out["label_mode"] = row[0], row[1]
        metrics = json.loads(row[2]) if row[2] else {}
        meta_path = warehouse.parent / "models" / row[0] / "metadata.json"
        if meta_path.exists():
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        pred = _find(metrics, "hires_predicted") or _find(meta, "hires_predicted")
        obs = _find(metrics, "hires_observed") or _find(meta, "hires_observed")
        if pred is not None and obs:
            out["calibration_ratio"] = float(pred) / float(obs)
        gate = _find(meta, "gate") or _find(metrics, "gate")
        out["gate"] = gate if gate is not None else None
    score = con.execute(
        "SELECT max(expected_hires), sum(expected_hires), count(*), any_value(label_mode) "
        "FROM score_etablissement WHERE as_of = CAST(? AS DATE)",
        [as_of],
    ).fetchone()
    out["max_expected_hires"], out["sum_expected_hires"] = score[0], score[1]
    out["n_scored"] = score[2]
    out["score_label_mode"] = score[3]
    return out


def evaluate(world: Path, work: Path, as_of: dt.date, mode: str) -> dict[str, Any]:
    """All figures of one pipeline run on one world (see the module docstring)."""
    warehouse = work / "warehouse" / "ciblage.duckdb"
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        cands = _candidates(con)
        model = model_figures(con, warehouse, as_of)
        full = full_ranking(con)
    finally:
        con.close()
    truth = pd.read_csv(
        world / "truth" / "hires_after_as_of.csv", sep=";", dtype={"siret": str}
    ).rename(columns={"hires": "y"})
    cands = cands.merge(truth[["siret", "code_rome", "y", "true_rate"]], how="left")
    past = _past_hires(world, as_of)
    cands = cands.merge(past, how="left") if past is not None else cands.assign(past_hires=np.nan)
    if past is not None:
        cands["past_hires"] = cands["past_hires"].fillna(0.0)
    cands = cands.merge(_past_offers(world, as_of), how="left")
    cands = cands.fillna({"y": 0.0, "true_rate": 0.0, "past_offers": 0.0})
    targets = read_targets(work / "output" / "latest").to_pandas()
    lists = targets[targets["territory_level"] == "departement"][
        ["territory_code", "code_rome", "rank", "siret"]
    ].rename(columns={"territory_code": "code_departement"})
    info = json.loads((world / "truth" / "world.json").read_text(encoding="utf-8"))
    best = "past_hires" if mode == "hires_siret" else "past_offers"
    ranking = list_metrics(cands, full, best)
    return {
        "ranking": ranking["lists"],
        "ranking_diff_vs_mode_baseline": ranking.get("diff_vs_mode_baseline"),
        **list_metrics(cands, lists, best),
        **model,
        "max_observed_6m": info["max_hires_after_as_of_one_establishment"],
        "hires_after_as_of_active": info["hires_after_as_of_active"],
        "list_rows": int(len(lists)),
        "candidates": int(len(cands)),
    }
