"""How learnable is the shipped sample? Prints precision@10 per (département × ROME).

Compares, on the sample's own files, rankings by headcount band, by past offers, by past
hires, and a small gradient-boosting model on past hires + trend + sector dynamics, for
the 6 months after an as-of date (default 2026-05-01, so the truth is in the sample).
Offers are attributed with the truth file (perfect linking: an upper bound for that
baseline). Usage: python bench/sample_signal.py [sample_dir] [as_of YYYY-MM]
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
import zipfile
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import average_precision_score

from ciblage.sample.establishments import BANDS
from ciblage.sample.referentials import load_rome_naf


def month_index(ym: str) -> int:
    return int(ym[:4]) * 12 + int(ym[5:7]) - 1


def load(sample: Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str], dict]:
    with zipfile.ZipFile(sample / "sirene" / "StockEtablissement_utf8.zip") as zf:
        text = zf.read(zf.namelist()[0]).decode("utf-8")
    et = pd.DataFrame(list(csv.DictReader(io.StringIO(text))))
    et = pd.DataFrame(
        {
            "siret": et["siret"],
            "dep": et["codeCommuneEtablissement"].str[:2],
            "naf": et["activitePrincipaleEtablissement"].str.replace(".", "", regex=False),
            "band": et["trancheEffectifsEtablissement"].replace("", "NN").map(BANDS.index),
            "created": et["dateCreationEtablissement"].str[:7].map(month_index),
            "siren": et["siren"],
            "siege": (et["etablissementSiege"] == "true").astype(int),
            "closed": np.where(
                et["etatAdministratifEtablissement"] == "F",
                et["dateDebut"].str[:7].map(month_index),
                10**6,
            ),
        }
    )
    pos = {s: i for i, s in enumerate(et["siret"])}
    first = month_index("2020-01")
    n_months = month_index("2026-10") - first + 1
    hires = np.zeros((len(et), n_months))
    by_rome: dict[str, np.ndarray] = defaultdict(lambda: np.zeros((len(et), n_months)))
    with (sample / "hires" / "embauches_siret.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f, delimiter=";"):
            i, t = pos[r["siret"]], month_index(r["mois"]) - first
            hires[i, t] += int(r["nombre_embauches"])
            by_rome[r["code_rome"]][i, t] += int(r["nombre_embauches"])
    truth = dict(csv.reader((sample / "truth" / "offres_siret_truth.csv").open(), delimiter=";"))
    offers = np.zeros((len(et), n_months))
    files = sorted((sample / "offres").glob("*.json"))
    docs = [o for p in files for o in json.loads(p.read_text())["resultats"]]
    docs += [json.loads(x) for x in (sample / "offres").glob("*.jsonl").__next__().open()]
    for o in docs:
        t = month_index(o["dateCreation"][:7]) - first
        if 0 <= t < n_months:
            offers[pos[truth[o["id"]]], t] += 1
    return et, hires, offers, sorted(by_rome), dict(by_rome)


def features(et: pd.DataFrame, hires: np.ndarray, offers: np.ndarray, t: int) -> pd.DataFrame:
    """Features at month index t (data strictly before t)."""

    def past(a: np.ndarray, k: int) -> np.ndarray:
        return a[:, max(0, t - k) : t].sum(1)

    f = pd.DataFrame({"band": et["band"], "age": (t + month_index("2020-01")) - et["created"]})
    for k in (3, 6, 12, 24):
        f[f"h{k}"] = past(hires, k)
    f["o12"] = past(offers, 12)
    f["trend"] = past(hires, 12) - (hires[:, max(0, t - 24) : t - 12].sum(1))
    f["month"] = (t + month_index("2020-01")) % 12
    # sector x département dynamics: the cell's hires last 12 months vs the 12 before
    cell = et["dep"] + et["naf"].str[:2]
    h12, h24 = (
        pd.Series(past(hires, 12)).groupby(cell).transform("sum"),
        pd.Series(hires[:, max(0, t - 24) : t - 12].sum(1)).groupby(cell).transform("sum"),
    )
    f["cell_growth"] = (h12 + 1) / (h24 + 1)
    f["naf2"] = et["naf"].str[:2].astype(int)
    f["siege"] = et["siege"]
    f["siren_sites"] = et.groupby("siren")["siret"].transform("count")
    f["siren_h12"] = pd.Series(past(hires, 12)).groupby(et["siren"]).transform("sum")
    return f


def p_at_10(et, scores, label_by_rome, shares, alive) -> float:
    vals = []
    for rome, lab in label_by_rome.items():
        lookup = {n: shares.get(n, {}).get(rome, 0.0) for n in et["naf"].unique()}
        share = et["naf"].map(lookup).to_numpy()
        for dep in ("27", "45", "57"):
            elig = alive & (share > 0) & (et["dep"].to_numpy() == dep)
            if elig.sum() < 20 or lab[elig].sum() == 0:
                continue
            s = scores[elig] * share[elig] + 1e-9 * np.arange(elig.sum())[::-1]
            top = np.argsort(-s, kind="stable")[:10]
            vals.append((lab[elig][top] > 0).mean())
    return float(np.mean(vals))


def main() -> None:
    sample = Path(sys.argv[1] if len(sys.argv) > 1 else "data/sample")
    as_of = sys.argv[2] if len(sys.argv) > 2 else "2026-05"
    t0 = time.perf_counter()
    et, hires, offers, romes, by_rome = load(sample)
    _, shares_l, _ = load_rome_naf()
    shares = {k: dict(v) for k, v in shares_l.items()}
    t = month_index(as_of) - month_index("2020-01")
    h = 6

    def alive_at(tt: int) -> np.ndarray:
        m = tt + month_index("2020-01")
        return ((et["created"] < m) & (et["closed"] > m)).to_numpy()

    train_x, train_y = [], []
    for back in range(6, 37, 2):
        tt = t - back
        a = alive_at(tt)
        train_x.append(features(et, hires, offers, tt)[a])
        train_y.append(hires[a, tt : tt + h].sum(1))
    model = HistGradientBoostingRegressor(
        loss="poisson", max_iter=300, learning_rate=0.05, l2_regularization=1.0, random_state=0
    )
    model.fit(pd.concat(train_x), np.concatenate(train_y))
    alive = alive_at(t)
    fx = features(et, hires, offers, t)
    y = hires[:, t : t + h].sum(1)
    top_romes = sorted(romes, key=lambda r: -by_rome[r][:, t : t + h].sum())[:40]
    label_by_rome = {r: by_rome[r][:, t : t + h].sum(1) for r in top_romes}
    scores = {
        "headcount band": fx["band"].to_numpy(float) + 1e-3 * fx["h24"].to_numpy(),
        "offers last 12 months": fx["o12"].to_numpy(float),
        "hires last 12 months": fx["h12"].to_numpy(float),
        "model (hires + trend + sector dynamics)": model.predict(fx),
    }
    print(
        f"sample {sample}, as-of {as_of}, horizon {h} months: {alive.sum()} active "
        f"establishments, {int(y[alive].sum())} hires to predict, {len(top_romes)} ROMEs"
    )
    for name, s in scores.items():
        ap = average_precision_score(y[alive] > 0, s[alive])
        p10 = p_at_10(et, s, label_by_rome, shares, alive)
        print(f"  {name:42s} precision@10 (dep x ROME) {p10:.3f}   AUC-PR {ap:.3f}")
    print(f"  ({time.perf_counter() - t0:.1f} s)")


if __name__ == "__main__":
    main()
