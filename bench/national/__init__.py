"""National-size inputs in the official formats, for `bench/nightly_national.py`.

Why a package of its own: the nightly bench needs every source the pipeline ingests at
national volume (SIRENE stock and geolocation, DPAE exports, per-SIRET hires, job
offers), written fast and in bounded memory. The object-per-establishment sample
generator (`ciblage.sample`) cannot reach 43 M rows; this one is vectorised and chunked,
and reuses the SIRENE chunk writers of `bench/ingest_national.py`, the sample's DPAE row
writer and the referentials' readers so that the formats stay the shipped ones.

Layout written under an inputs folder (the shipped sample's, so that
`ciblage.config.write_relocated_config` points a config at it):

    sirene/StockEtablissement_utf8.zip, StockUniteLegale_utf8.zip, Geolocalisation….zip
    urssaf/dpae-par-departement-x-grand-secteur.csv, dpae-par-region-x-na38.csv
    hires/embauches_siret.csv
    offres/offres_<YYYY-MM>.jsonl   (Offres d'emploi API v2 offers, JSON lines, one a month)
    population.parquet              (bench only: what the activity generators draw from)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

SEED = 7  # the same for every scale: a rerun of the bench writes the same files
AS_OF = dt.date(2026, 11, 1)  # first night; the data ends the day before
HISTORY_MONTHS = 24  # months of hires and offers before AS_OF

NATIONAL_ESTABLISHMENTS = 43_000_000
NATIONAL_HIRES_PER_YEAR = 25_000_000
NATIONAL_OFFERS = 4_000_000  # over HISTORY_MONTHS


@dataclass(frozen=True)
class Volumes:
    """Every volume of one generation; `scale` multiplies the national ones."""

    scale: float = 1.0
    history_months: int = HISTORY_MONTHS

    @property
    def establishments(self) -> int:
        return max(1000, round(NATIONAL_ESTABLISHMENTS * self.scale))

    @property
    def hires_per_month(self) -> float:
        return NATIONAL_HIRES_PER_YEAR * self.scale / 12

    @property
    def offers_per_month(self) -> float:
        return NATIONAL_OFFERS * self.scale / self.history_months

    def as_dict(self) -> dict[str, float | int]:
        return {
            "scale": self.scale,
            "history_months": self.history_months,
            "establishments": self.establishments,
            "hires_per_year": round(self.hires_per_month * 12),
            "offers": round(self.offers_per_month * self.history_months),
        }
