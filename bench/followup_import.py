"""Time the promotions ledger: import, idempotent re-import, correction, derived tables.

A national deployment gathers a year of promotions from ~900 agencies: this writes a
ledger of N rows (default 200,000) in the agencies' CSV format and prints wall times and
rows/s for each step, and the impact report time.

    python bench/followup_import.py [N]
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from ciblage.config import load_settings
from ciblage.followup.impact import write_impact_report
from ciblage.followup.ledger import import_promotions
from ciblage.followup.refresh import build_derived

OUTCOMES = ("sans réponse", "refus", "entretien", "embauche", "")


def siret(rng: random.Random) -> str:
    prefix = f"{rng.randrange(10**12, 10**13):013d}"
    for last in "0123456789":
        s = prefix + last
        total = sum(
            (d * 2 - 9 if d * 2 > 9 else d * 2) if i % 2 else d
            for i, d in enumerate(int(c) for c in reversed(s))
        )
        if total % 10 == 0:
            return s
    raise AssertionError


def write_ledger(path: Path, n: int, seed: int = 1, corrected: bool = False) -> None:
    rng = random.Random(seed)
    companies = [siret(rng) for _ in range(max(10, n // 8))]
    start = date(2025, 11, 1)
    lines = [
        "date_promotion;code_agence;siret;code_rome;id_conseiller;id_demandeur;canal;"
        "resultat;date_resultat"
    ]
    for i in range(n):
        day = start + timedelta(days=rng.randrange(360))
        outcome = rng.choice(OUTCOMES)
        if corrected and i % 10 == 0:
            outcome = "embauche"
        lines.append(
            f"{day:%d/%m/%Y};A{rng.randrange(900):03d};{rng.choice(companies)};"
            f"M{rng.randrange(1000, 1999)};C{rng.randrange(5000)};DE{i:08d};mail;{outcome};"
        )
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")


def timed(label: str, n: int, fn):  # noqa: ANN001, ANN201
    t = time.perf_counter()
    result = fn()
    dt = time.perf_counter() - t
    print(f"{label:<34} {dt:7.2f} s  {n / dt:>10,.0f} rows/s")
    return result


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "ciblage.toml").write_text('[run]\nas_of = "2026-11-01"\n')
        settings = load_settings(work / "ciblage.toml")
        first, second = work / "ledger.csv", work / "ledger_corrected.csv"
        write_ledger(first, n)
        write_ledger(second, n, corrected=True)
        con = duckdb.connect(str(work / "w.duckdb"))
        r = timed("import (new rows)", n, lambda: import_promotions(con, first))
        assert r.inserted == n - r.duplicates - r.rejected_rows
        r = timed("re-import (no change)", n, lambda: import_promotions(con, first))
        assert r.inserted == 0 and r.updated == 0
        r = timed("import with 10 % corrections", n, lambda: import_promotions(con, second))
        print(f"  -> {r.updated:,} rows updated, history kept")
        s = timed("outcomes + cool-down", n, lambda: build_derived(con, settings))
        print(f"  -> {s.cooldowns:,} cool-downs")
        timed(
            "impact report (900 agencies)",
            n,
            lambda: write_impact_report(con, settings, work / "run"),
        )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200_000)
