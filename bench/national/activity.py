"""Per-SIRET hires and job offers drawn from the population, chunk by chunk.

Why a process and not uniform noise: the stages' cost depends on the data's shape (how
many establishments hire at all, how many (SIRET, month, ROME) rows, how many ROMEs per
establishment), so hires follow the sample's form at national volume: establishment i
hires Poisson(lambda_i * season[group][month]) a month, lambda_i = BASE_BY_BAND[band] x
Gamma(0.5) (most establishments never hire, a few hire a lot), scaled so that France
hires `Volumes.hires_per_month`; each hire gets a ROME from the real NAF x ROME shares.
Offers follow the same lambda_i times a per-establishment publishing propensity, scaled
to `Volumes.offers_per_month`, in the Offres d'emploi API v2 shape (JSON lines, one file
per month, the fields `ciblage.sources.offres_json` reads; a quarter carry the SIRET, the
others only a name for entity resolution).
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bench.national import Volumes
from bench.national.population import communes
from ciblage import formats
from ciblage.sample.establishments import BANDS
from ciblage.sample.hiring import BASE_BY_BAND, SEASON, sector_group
from ciblage.sample.offers import SIRET_SHOWN
from ciblage.sample.referentials import Referentials
from ciblage.sample.world_files import add_months

BATCH = 1_000_000  # population rows per chunk
GAMMA_SHAPE = 0.5  # establishment effect: mean 1, heavy tail
LETTERS = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
CONTRACTS = np.array(["CDI", "CDD", "MIS"])
CONTRACT_P = np.array([0.45, 0.43, 0.12])


@dataclass(frozen=True)
class Window:
    """A period activity is drawn for: a whole month, or one day (the second night)."""

    start: dt.datetime
    end: dt.datetime
    label: str  # file name part: "2024-11" or "2026-11-01"

    @property
    def month(self) -> int:
        return self.start.month - 1

    @property
    def share(self) -> float:
        """Share of a 30-day month's volume."""
        return (self.end - self.start).total_seconds() / (30 * 86400)

    @property
    def code(self) -> int:
        """3-digit prefix of the offer ids created in this window (unique per month)."""
        return ((self.start.year - 2000) * 12 + self.month) % 1000


def months(as_of: dt.date, n: int) -> list[Window]:
    """The n whole months before `as_of` (first of a month)."""
    out = []
    for k in range(n, 0, -1):
        a, b = add_months(as_of, -k), add_months(as_of, -k + 1)
        out.append(Window(_dt(a), _dt(b), a.strftime("%Y-%m")))
    return out


def day(d: dt.date) -> Window:
    return Window(_dt(d), _dt(d + dt.timedelta(days=1)), d.isoformat())


def _dt(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day)


class Model:
    """Referential lookups shared by every chunk (NAF -> ROME shares, season, weights)."""

    def __init__(self, ref: Referentials, pop: Path, vol: Volumes) -> None:
        self.com = communes()
        self.com_dep = self.com["dep"].to_numpy(zero_copy_only=False)
        found: set[str] = set()
        for b in pq.ParquetFile(pop).iter_batches(BATCH, columns=["naf"]):
            found.update(pc.unique(b["naf"]).drop_null().to_pylist())
        self.nafs = sorted(found)
        codes = [n.replace(".", "") for n in self.nafs]
        width = max(len(ref.rome_shares.get(c, [])) for c in codes)
        self.cum = np.ones((len(codes), width))
        self.rome = np.full((len(codes), width), "", dtype=object)
        for k, c in enumerate(codes):
            shares = ref.rome_shares.get(c) or [("K2204", 1.0)]
            self.cum[k, : len(shares)] = np.cumsum([s for _, s in shares])
            self.rome[k, : len(shares)] = [r for r, _ in shares]
            self.rome[k, len(shares) :] = shares[-1][0]
        self.rome_labels = ref.rome_labels
        self.division = np.array([c[:2] for c in codes])
        self.season = np.stack([SEASON[sector_group(ref.naf[c].a21)] for c in codes])
        band_base = dict(BASE_BY_BAND)
        self.band_keys = pa.array(list(BANDS))
        self.band_base = np.array([band_base[b] for b in BANDS] + [band_base["NN"]])
        total = 0.0
        for b in pq.ParquetFile(pop).iter_batches(BATCH, columns=["active", "band"]):
            total += self._base(b.filter(b["active"])["band"]).sum()
        self.per_weight = vol.hires_per_month / max(total, 1e-9)  # hires a month per unit
        self.offers_ratio = vol.offers_per_month / vol.hires_per_month

    def _base(self, band: pa.Array) -> np.ndarray:
        idx = pc.fill_null(pc.index_in(band, self.band_keys), len(BANDS))
        return self.band_base[idx.to_numpy(zero_copy_only=False)]

    def draw_romes(self, rng: np.random.Generator, naf: np.ndarray) -> np.ndarray:
        """One ROME (v3) per event of NAF index `naf`, from the NAF's hiring shares."""
        u = rng.random(len(naf))
        j = (u[:, None] > self.cum[naf]).sum(axis=1)
        return self.rome[naf, np.minimum(j, self.cum.shape[1] - 1)]


@dataclass
class Chunk:
    """The active establishments of one population batch, with their monthly rate."""

    siret: pa.Array
    unit: np.ndarray
    naf: np.ndarray  # index into Model.nafs
    commune: np.ndarray  # index into Model.com
    rate: np.ndarray  # expected hires in a 30-day month, before season


def chunks(model: Model, pop: Path, seed: int):
    """Active establishments batch by batch, each with its drawn establishment effect."""
    rng = np.random.default_rng([seed, 2])
    nafs = pa.array(model.nafs)
    for b in pq.ParquetFile(pop).iter_batches(BATCH):
        b = b.filter(b["active"])
        gamma = rng.gamma(GAMMA_SHAPE, 1 / GAMMA_SHAPE, b.num_rows)
        yield Chunk(
            siret=b["siret"],
            unit=b["unit"].to_numpy(),
            naf=pc.index_in(b["naf"], nafs).to_numpy(zero_copy_only=False),
            commune=b["commune"].to_numpy(),
            rate=model._base(b["band"]) * gamma * model.per_weight,
        )


def hires_table(
    rng: np.random.Generator, model: Model, c: Chunk, windows: list[Window]
) -> pa.Table:
    """Per-(SIRET, month, ROME) hires of the chunk."""
    season = model.season[c.naf][:, [w.month for w in windows]]
    lam = c.rate[:, None] * season * np.array([w.share for w in windows])
    counts = rng.poisson(lam)
    i, t = np.nonzero(counts)
    n = counts[i, t]
    ei, et = np.repeat(i, n), np.repeat(t, n)
    rome = model.draw_romes(rng, c.naf[ei])
    keys = pa.table({"i": ei, "t": et, "rome": pa.array(rome, pa.string())})
    agg = keys.group_by(["i", "t", "rome"]).aggregate([([], "count_all")])
    agg = agg.sort_by([("i", "ascending"), ("t", "ascending"), ("rome", "ascending")])
    labels = pa.array([w.label for w in windows])
    table = pa.table(
        {
            "siret": c.siret.take(agg["i"]),
            "mois": labels.take(agg["t"]),
            "code_rome": agg["rome"],
            "nombre_embauches": agg["count_all"].cast(pa.string()),
        }
    )
    return table


def offers_frame(
    rng: np.random.Generator,
    model: Model,
    c: Chunk,
    windows: list[Window],
    counters: dict[str, int],
    last_seen: dt.datetime,
) -> pl.DataFrame | None:
    """The chunk's offers as Offres API v2 objects (one row each), in window order."""
    propensity = rng.beta(2, 2, len(c.rate)) * 2
    season = model.season[c.naf][:, [w.month for w in windows]]
    lam = (c.rate * propensity * model.offers_ratio)[:, None] * season
    counts = rng.poisson(lam * np.array([w.share for w in windows]))
    i, t = np.nonzero(counts.T)[::-1]  # window-major order
    n = counts[i, t]
    i, t = np.repeat(i, n), np.repeat(t, n)
    k = len(i)
    # ids: 3-digit window code + 4 letters of a per-window counter (unique across chunks)
    seq = np.zeros(k, dtype=np.int64)
    for w_idx, w in enumerate(windows):
        sel = t == w_idx
        m = int(sel.sum())
        seq[sel] = counters.get(w.label, 0) + np.arange(m)
        counters[w.label] = counters.get(w.label, 0) + m
        if counters[w.label] >= 26**4:
            raise ValueError(f"more than {26**4:,} offers in {w.label}: widen the id")
    if k == 0:
        return None
    letters = LETTERS[(seq[:, None] // 26 ** np.arange(3, -1, -1)) % 26]
    ids = np.array([f"{w.code:03d}" for w in windows])[t]
    for col in range(letters.shape[1]):
        ids = np.char.add(ids, letters[:, col])
    start = np.array([np.datetime64(w.start, "s") for w in windows])[t]
    length = np.array([(w.end - w.start).total_seconds() for w in windows])[t]
    created = start + (rng.random(k) * length).astype("timedelta64[s]")
    updated = created + (rng.random(k) * 20 * 86400).astype("timedelta64[s]")
    updated = np.minimum(updated, np.datetime64(last_seen, "s"))
    rome = model.draw_romes(rng, c.naf[i])
    com = model.com.take(pa.array(c.commune[i]))
    shown = rng.random(k) < SIRET_SHOWN
    contract = CONTRACTS[np.searchsorted(np.cumsum(CONTRACT_P), rng.random(k))]
    labels = np.array([model.rome_labels.get(r, r) for r in rome], dtype=object)
    return pl.DataFrame(
        {
            "id": ids.astype(str),
            "intitule": labels,
            "dateCreation": np.char.add(np.datetime_as_string(created, unit="s"), ".000Z"),
            "dateActualisation": np.char.add(np.datetime_as_string(updated, unit="s"), ".000Z"),
            "lieuTravail": pl.DataFrame(
                {
                    "libelle": pc.binary_join_element_wise(com["dep"], com["ncc"], " - "),
                    "latitude": com["lat"],
                    "longitude": com["lon"],
                    "codePostal": com["postal"],
                    "commune": com["code"],
                }
            ).to_struct(),
            "romeCode": rome.astype(str),
            "romeLibelle": labels,
            "appellationlibelle": labels,
            "entreprise": pl.DataFrame(
                {
                    "nom": np.char.add("SOCIETE ", c.unit[i].astype(str)),
                    "siret": pc.if_else(
                        pa.array(shown), c.siret.take(pa.array(i)), pa.nulls(k, pa.string())
                    ),
                    "entrepriseAdaptee": np.zeros(k, dtype=bool),
                }
            ).to_struct(),
            "typeContrat": contract,
            "natureContrat": np.full(k, "Contrat travail"),
            "secteurActivite": model.division[c.naf[i]],
            "nombrePostes": 1 + (rng.random(k) < 0.15) * rng.poisson(1.0, k),
            "window": t,
        }
    )


class OfferFiles:
    """One JSON-lines file per window, appended chunk after chunk."""

    def __init__(self, folder: Path, windows: list[Window]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.paths = [folder / f"offres_{w.label}.jsonl" for w in windows]
        self.files = [p.open("wb") for p in self.paths]
        self.rows = 0

    def write(self, frame: pl.DataFrame | None) -> None:
        if frame is None:
            return
        self.rows += frame.height
        for w_idx, part in frame.partition_by("window", as_dict=True).items():
            buf = io.BytesIO()
            part.drop("window").write_ndjson(buf)
            self.files[int(w_idx[0])].write(buf.getvalue())

    def close(self) -> None:
        for f in self.files:
            f.close()


class HiresFile:
    """embauches_siret.csv (`;`, header line), appended chunk after chunk."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.raw = path.open("wb")
        self.raw.write((";".join(formats.HIRES_SIRET_COLUMNS) + "\n").encode())
        opts = pacsv.WriteOptions(delimiter=";", include_header=False, quoting_style="none")
        self.writer: pacsv.CSVWriter | None = None
        self.opts = opts
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self.writer is None:
            self.writer = pacsv.CSVWriter(self.raw, table.schema, write_options=self.opts)
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.raw.close()
