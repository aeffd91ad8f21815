"""SIRENE stock, its geolocation file, and the population the other sources draw from.

The establishment and legal-unit chunks are `bench/ingest_national.py`'s (INSEE's 54 / 35
columns, Luhn-valid SIREN/SIRET, every COG commune, a share of statutDiffusion P), so the
ingest bench and the nightly bench read the same kind of file. While each establishment
chunk is zipped, the same rows feed two more outputs, so the stock is drawn only once:

- the geolocation file (INSEE's `;` CSV in a zip, diffusible establishments only,
  coordinates near their commune's La Poste point);
- `population.parquet`, the few columns hires and offers are drawn from (SIRET, legal
  unit, active, diffusible, headcount band, NAF, commune), so that those generators need
  not parse the 43 M-row CSV again.
"""

from __future__ import annotations

import csv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from bench.ingest_national import (
    CHUNK,
    UNITS_PER_ETAB,
    _communes,
    etab_chunk,
    unit_chunk,
    write_zip,
)
from ciblage import formats
from ciblage.sample.referentials import REFERENCE_DIR
from ciblage.sample.sirene_files import lambert93

POPULATION = "population.parquet"
IMPRECISE_SHARE = 0.05  # qualite_xy 33: a point somewhere in the commune
JITTER_M = 800.0  # establishments lie within about this distance of the commune point


def communes() -> pa.Table:
    """The ingest bench's commune list (COM + ARM of the COG) with postal code and point.

    Communes La Poste has no point for keep null coordinates (no geolocation row).
    """
    codes, names = _communes(None)
    points: dict[str, tuple[str, float, float]] = {}
    with (REFERENCE_DIR / "laposte_hexasmal.csv").open(encoding="utf-8", newline="") as f:
        for row in sorted(csv.DictReader(f, delimiter=";"), key=lambda r: r["Code_postal"]):
            gps = row["coordonnees_gps"].strip()
            if gps and row["Code_commune_INSEE"] not in points:
                lat, lon = (float(v) for v in gps.split(","))
                points[row["Code_commune_INSEE"]] = (row["Code_postal"], lat, lon)
    code_list = codes.to_pylist()
    point = [points.get(c) for c in code_list]
    xy = [lambert93(p[1], p[2]) if p else (None, None) for p in point]
    dep = [c[:3] if c[:2] in ("97", "98") else c[:2] for c in code_list]
    return pa.table(
        {
            "code": codes,
            "ncc": names,
            "dep": pa.array(dep),
            "postal": pa.array([p[0] if p else None for p in point], pa.string()),
            "lat": pa.array([p[1] if p else None for p in point], pa.float64()),
            "lon": pa.array([p[2] if p else None for p in point], pa.float64()),
            "x": pa.array([v[0] for v in xy], pa.float64()),
            "y": pa.array([v[1] for v in xy], pa.float64()),
        }
    )


def _units_of(start: int, n: int, n_units: int) -> np.ndarray:
    """Legal unit index of establishments start..start+n (etab_chunk's numbering)."""
    i = np.arange(start, start + n, dtype=np.int64)
    return np.where(i < n_units, i, (i - n_units) % n_units)


def _population(table: pa.Table, units: np.ndarray, commune_idx: pa.Array) -> pa.Table:
    return pa.table(
        {
            "siret": table["siret"],
            "unit": pa.array(units),
            "active": pc.equal(table["etatAdministratifEtablissement"], "A"),
            "diffusible": pc.equal(table["statutDiffusionEtablissement"], "O"),
            "band": table["trancheEffectifsEtablissement"],
            "naf": table["activitePrincipaleEtablissement"],
            "commune": commune_idx,
        }
    )


def _geoloc(rng: np.random.Generator, table: pa.Table, idx: np.ndarray, com: pa.Table) -> pa.Table:
    """INSEE geolocation rows of the chunk's diffusible establishments with a point."""
    lat0 = com["lat"].to_numpy(zero_copy_only=False)[idx]
    keep = pc.equal(table["statutDiffusionEtablissement"], "O").to_numpy(zero_copy_only=False)
    keep &= ~np.isnan(lat0)
    n = int(keep.sum())
    pick = np.flatnonzero(keep)
    dx, dy = rng.normal(0, JITTER_M, n), rng.normal(0, JITTER_M, n)
    lat = lat0[pick] + dy / 111_000
    lon = com["lon"].to_numpy(zero_copy_only=False)[idx][pick] + dx / (
        111_000 * np.cos(np.radians(lat))
    )
    x = com["x"].to_numpy(zero_copy_only=False)[idx][pick] + dx
    y = com["y"].to_numpy(zero_copy_only=False)[idx][pick] + dy
    imprecise = rng.random(n) < IMPRECISE_SHARE
    code = com["code"].take(pa.array(idx[pick]))
    cols = {c: pa.nulls(n, pa.string()) for c in formats.SIRENE_GEOLOC_COLUMNS}
    cols.update(
        siret=table["siret"].take(pa.array(pick)),
        x=pa.array(np.round(x, 1)).cast(pa.string()),
        y=pa.array(np.round(y, 1)).cast(pa.string()),
        qualite_xy=pa.array(np.where(imprecise, "33", "11")),
        epsg=pa.array(np.full(n, "2154")),
        plg_iris=pc.binary_join_element_wise(code, pa.array(np.full(n, "0000")), ""),
        plg_code_commune=code,
        distance_precision=pa.array(np.where(imprecise, "1500.00", "12.00")),
        y_latitude=pa.array(np.round(lat, 7)).cast(pa.string()),
        x_longitude=pa.array(np.round(lon, 7)).cast(pa.string()),
    )
    return pa.table([cols[c] for c in formats.SIRENE_GEOLOC_COLUMNS], names=list(cols))


def write_sirene(out: Path, rows: int, seed: int) -> dict[str, Path]:
    """The three SIRENE zips and population.parquet for `rows` establishments."""
    d = out / "sirene"
    d.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    geo_rng = np.random.default_rng([seed, 1])  # its own stream: the stock stays the same
    n_units = max(1, int(rows * UNITS_PER_ETAB))
    com = communes()
    com_codes = com["code"]
    pc_communes = (com_codes, com["ncc"])
    paths = {
        "sirene_etablissement": d / formats.SIRENE_ETABLISSEMENT_ZIP,
        "sirene_unite_legale": d / formats.SIRENE_UNITE_LEGALE_ZIP,
        "sirene_geoloc": d / formats.SIRENE_GEOLOC_ZIP,
        "population": out / POPULATION,
    }
    geo_opts = pacsv.WriteOptions(delimiter=";", quoting_style="needed")
    with (
        zipfile.ZipFile(paths["sirene_geoloc"], "w", zipfile.ZIP_DEFLATED, compresslevel=1) as gz,
        gz.open(formats.SIRENE_GEOLOC_CSV, "w", force_zip64=True) as graw,
    ):
        geo_writer: pacsv.CSVWriter | None = None
        pop_writer: pq.ParquetWriter | None = None

        def chunks() -> Iterator[pa.Table]:
            nonlocal geo_writer, pop_writer
            for start in range(0, rows, CHUNK):
                n = min(CHUNK, rows - start)
                table = etab_chunk(rng, start, n, n_units, pc_communes)
                idx = pc.index_in(table["codeCommuneEtablissement"], com_codes)
                pop = _population(table, _units_of(start, n, n_units), idx)
                geo = _geoloc(geo_rng, table, idx.to_numpy(zero_copy_only=False), com)
                if pop_writer is None:
                    pop_writer = pq.ParquetWriter(paths["population"], pop.schema)
                    geo_writer = pacsv.CSVWriter(graw, geo.schema, write_options=geo_opts)
                pop_writer.write_table(pop)
                assert geo_writer is not None
                geo_writer.write_table(geo)
                yield table

        write_zip(paths["sirene_etablissement"], formats.SIRENE_ETABLISSEMENT_CSV, chunks())
        if geo_writer is not None:
            geo_writer.close()
        if pop_writer is not None:
            pop_writer.close()
    write_zip(
        paths["sirene_unite_legale"],
        formats.SIRENE_UNITE_LEGALE_CSV,
        (unit_chunk(rng, s, min(CHUNK, n_units - s)) for s in range(0, n_units, CHUNK)),
    )
    return paths
