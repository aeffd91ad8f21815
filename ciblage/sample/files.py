"""Per-SIRET hires, job offer files (API search responses and JSON lines) and the truth."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ciblage import formats
from ciblage.sample.establishments import Establishment
from ciblage.sample.hiring import HiringResult, month_start
from ciblage.sample.offers import Offer
from ciblage.sample.sirene_files import csv_text

PAGE_SIZE = 150  # the API returns at most 150 offers per call (range=0-149)
JSONL_FROM = "2026-01"  # offers from this month on go to one JSON-lines file
FILTERS = (
    ("typeContrat", "typeContrat"),
    ("experience", "experienceExige"),
    ("qualification", "qualificationCode"),
    ("natureContrat", "natureContrat"),
)


def write_hires(out: Path, estabs: list[Establishment], hiring: HiringResult) -> Path:
    totals: Counter[tuple[str, str, str]] = Counter()
    for i, t, rome, count, _ in hiring.records:
        totals[(estabs[i].siret, month_start(t).strftime("%Y-%m"), rome)] += count
    rows = [[s, m, r, str(n)] for (s, m, r), n in sorted(totals.items())]
    path = out / "hires" / "embauches_siret.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(csv_text(formats.HIRES_SIRET_COLUMNS, rows, ";"), encoding="utf-8")
    return path


def write_truth(out: Path, offers: list[Offer]) -> Path:
    path = out / "truth" / "offres_siret_truth.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = [[o.offer_id, o.siret] for o in sorted(offers, key=lambda o: o.offer_id)]
    path.write_text(csv_text(("offre_id", "siret"), rows, ";"), encoding="utf-8")
    return path


def filtres_possibles(payloads: list[dict]) -> list[dict]:
    """The API's facet counts (`filtresPossibles`) over a query's offers."""
    out = []
    for filtre, key in FILTERS:
        counts = Counter(p[key] for p in payloads if key in p)
        out.append(
            {
                "filtre": filtre,
                "agregation": [
                    {"valeurPossible": v, "nbResultats": n} for v, n in sorted(counts.items())
                ],
            }
        )
    return out


def write_offers(out: Path, offers: list[Offer]) -> dict[str, Path]:
    """One search response per month window and page, then JSON lines for recent months."""
    d = out / "offres"
    d.mkdir(parents=True, exist_ok=True)
    # A previous generation may have had more pages: its files must not linger.
    for old in [*d.glob("offres-search_*.json"), *d.glob("offres_*.jsonl")]:
        old.unlink()
    by_month: dict[str, list[dict]] = {}
    recent: list[dict] = []
    for o in offers:
        month = o.created.strftime("%Y-%m")
        (recent if month >= JSONL_FROM else by_month.setdefault(month, [])).append(o.payload)
    written: dict[str, Path] = {}
    for month, payloads in sorted(by_month.items()):
        facets = filtres_possibles(payloads)
        for page, start in enumerate(range(0, len(payloads), PAGE_SIZE), start=1):
            body = {"resultats": payloads[start : start + PAGE_SIZE], "filtresPossibles": facets}
            path = d / f"offres-search_{month}_p{page:02d}.json"
            path.write_text(
                json.dumps(body, ensure_ascii=False, separators=(",", ":")), encoding="utf-8"
            )
            written[f"offres_{month}_p{page:02d}"] = path
    path = d / f"offres_{JSONL_FROM[:4]}.jsonl"
    path.write_text(
        "".join(json.dumps(p, ensure_ascii=False, separators=(",", ":")) + "\n" for p in recent),
        encoding="utf-8",
    )
    written["offres_jsonl"] = path
    return written
