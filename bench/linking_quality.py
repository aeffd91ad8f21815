"""Precision and recall of offer → establishment linking on the sample (truth known).

The sample generator writes the true employer of every offer in
`<sample>/truth/offres_siret_truth.csv`. This script ingests the configured sources if
the warehouse has no offers yet (Prefect flow `ingest`, which links the offers), then,
on a copy of the warehouse, re-links at each threshold and prints precision, recall and
coverage by method, so the threshold in `[linking] min_confidence` can be chosen.

    python bench/linking_quality.py                      # shipped sample, ciblage.toml
    python bench/linking_quality.py --thresholds 0.5,0.75,0.9 --config my.toml
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ciblage.config import load_settings  # noqa: E402
from ciblage.linking import DEFAULT_MIN_CONFIDENCE, link_offers  # noqa: E402
from ciblage.linking_quality import linking_quality  # noqa: E402
from ciblage.warehouse import connect, session, table_exists  # noqa: E402


def default_truth(offres_path: Path) -> Path:
    root = offres_path if offres_path.is_dir() else offres_path.parent
    return root.parent / "truth" / "offres_siret_truth.csv"


def report(label: str, q: dict, seconds: float | None = None) -> None:
    by = q["by_method"]
    cov = ", ".join(
        f"{m} {v['offers']} ({v['coverage']:.1%}"
        + (f", precision {v['precision']:.4f})" if v["precision"] is not None else ")")
        for m, v in sorted(by.items())
    )
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    print(
        f"{label}: precision {q['precision']:.4f}, recall {q['recall']:.4f} "
        f"(offers with a name or SIRET: {q['recall_resolvable']:.4f}){took}\n    {cov}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", help="ciblage.toml (default: the shipped one)")
    ap.add_argument("--warehouse", help="use this warehouse instead of the configured one")
    ap.add_argument("--truth", help="offre_id;siret CSV (default: <sample>/truth/...)")
    ap.add_argument("--thresholds", default="0.5,0.6,0.7,0.75,0.8,0.9,0.95")
    args = ap.parse_args()
    settings = load_settings(args.config)
    warehouse = Path(args.warehouse) if args.warehouse else settings.warehouse
    offres = settings.source("offres")
    if args.truth:
        truth = Path(args.truth)
    elif offres and offres.path:
        truth = default_truth(offres.path)
    else:
        sys.exit("no [sources.offres] path: pass --truth")
    if not truth.is_file():
        sys.exit(f"truth file not found: {truth}")
    if not args.warehouse:
        with session(warehouse, read_only=warehouse.exists()) as con:
            ready = all(table_exists(con, t) for t in ("offre", "offre_siret_link"))
        if not ready:
            from pipelines.ingest import ingest_flow

            print("warehouse has no linked offers: running the ingest flow ...")
            ingest_flow(config=args.config)
    print(f"truth: {truth}\nwarehouse: {warehouse}")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "warehouse.duckdb"
        shutil.copy(warehouse, copy)
        con = connect(copy)
        if table_exists(con, "offre_siret_link"):
            report("as ingested", linking_quality(con, truth))
        for th in (float(x) for x in args.thresholds.split(",")):
            t0 = time.perf_counter()
            link_offers(con, "bench-linking-quality", min_confidence=th)
            seconds = time.perf_counter() - t0
            mark = " (default)" if th == DEFAULT_MIN_CONFIDENCE else ""
            report(f"min_confidence {th:.2f}{mark}", linking_quality(con, truth), seconds)
        con.close()


if __name__ == "__main__":
    main()
