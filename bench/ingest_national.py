"""Benchmark: national SIRENE ingestion (43 M establishments + their legal units).

Generates, in INSEE's official format (zip of a comma-separated UTF-8 CSV, 54 / 35 columns
in the official order, Luhn-valid SIREN/SIRET, real COG communes and NAF codes, active and
closed establishments, a share of statutDiffusion P), a StockEtablissement of N rows and
the matching StockUniteLegale (N * 28/43 units) into bench/out/, then times the real
ingestion (`ciblage.ingest.load_source`: read, quality gate, row rules, SQL build, swap)
into a fresh warehouse in a child process, and prints wall time, rows/s and peak RSS.
A one-département file (N/100 rows in the Loiret) is timed the same way.

    python bench/ingest_national.py --rows 2000000   # development size
    python bench/ingest_national.py                  # 43,000,000 (national)

Target on 2 cores / 24 GiB: national ingest < 4 min, peak RSS < 6 GiB.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ciblage import formats  # noqa: E402
from ciblage.ingest.load import DQ_MAX_ROWS  # noqa: E402

OUT = ROOT / "bench" / "out"
REFERENCE = ROOT / "data" / "reference"
CHUNK = 1_000_000
UNITS_PER_ETAB = 28 / 43  # national ratio of legal units to establishments
NAF_SAMPLE = [
    "47.11F",
    "56.10A",
    "43.21A",
    "86.21Z",
    "62.01Z",
    "10.71C",
    "49.41A",
    "85.20Z",
    "68.20B",
    "70.22Z",
    "96.02A",
    "45.20A",
    "41.20A",
    "81.21Z",
    "88.10A",
    "01.11Z",
]
STREETS = [
    "DE LA REPUBLIQUE",
    "DU GENERAL DE GAULLE",
    "JEAN JAURES",
    "DE LA GARE",
    "VICTOR HUGO",
    "DES ECOLES",
    "PASTEUR",
    "DU MOULIN",
    "DE L'EGLISE",
    "NATIONALE",
]
VOIES = ["RUE", "AV", "BD", "PL", "CHE", "RTE", "ALL", "IMP"]
TRANCHES = ["NN", "00", "01", "02", "03", "11", "12", "21", "22", "31", "32", "41"]
FIRST_NAMES = ["MARIE", "JEAN", "PIERRE", "NATHALIE", "ISABELLE", "MICHEL", "SOPHIE", "ALAIN"]
LAST_NAMES = ["MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND"]


# ---- generation ---------------------------------------------------------------------------


def _digits(x: np.ndarray, k: int) -> np.ndarray:
    """(n, k) digits of x, most significant first."""
    powers = 10 ** np.arange(k - 1, -1, -1, dtype=np.int64)
    return (x[:, None] // powers) % 10


def _luhn_digit(prefix: np.ndarray, k: int) -> np.ndarray:
    """Check digit making `prefix` (k digits) + digit pass Luhn."""
    d = _digits(prefix, k)
    doubled = (k - np.arange(k) + 1) % 2 == 0  # position from the right in the full number
    d = np.where(doubled, d * 2, d)
    d = np.where(d > 9, d - 9, d)
    return (10 - d.sum(axis=1) % 10) % 10


def _siren(units: np.ndarray) -> np.ndarray:
    prefix = (units * 7_777_777 + 10_000_019) % 100_000_000  # bijective on [0, 1e8)
    return prefix * 10 + _luhn_digit(prefix, 8)


def _pad(x: np.ndarray, width: int) -> pa.Array:
    return pc.utf8_lpad(pa.array(x).cast(pa.string()), width, "0")


def _pick(rng: np.random.Generator, values: list[str] | pa.Array, n: int, p=None) -> pa.Array:
    values = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    if p is None:
        idx = rng.integers(0, len(values), n)
    else:
        idx = np.searchsorted(np.cumsum(p), rng.random(n) * np.sum(p), side="right")
        idx = np.minimum(idx, len(values) - 1)
    return values.take(pa.array(idx))


_DATE_POOLS: dict[tuple[str, str, str], pa.Array] = {}


def _dates(rng: np.random.Generator, n: int, start: str, end: str, suffix: str = "") -> pa.Array:
    """Random ISO dates (from a pool of every day in the range: no per-row formatting)."""
    key = (start, end, suffix)
    if key not in _DATE_POOLS:
        days = np.arange(np.datetime64(start), np.datetime64(end))
        pool = pa.array(days).cast(pa.string())
        if suffix:
            pool = pc.binary_join_element_wise(pool, pa.scalar(suffix), "")
        _DATE_POOLS[key] = pool
    return _pick(rng, _DATE_POOLS[key], n)


_NUMBER_POOL = pa.array(np.random.default_rng(0).uniform(1e5, 7.1e6, 50_000).round(1)).cast(
    pa.string()
)


def _communes(dep: str | None) -> tuple[pa.Array, pa.Array]:
    cog = pacsv.read_csv(
        REFERENCE / "communes.csv",
        convert_options=pacsv.ConvertOptions(column_types={"COM": pa.string(), "DEP": pa.string()}),
    )
    mask = pc.is_in(cog["TYPECOM"], pa.array(["COM", "ARM"]))
    if dep:
        mask = pc.and_(mask, pc.equal(cog["DEP"], dep))
    cog = cog.filter(mask)
    return cog["COM"].combine_chunks(), cog["NCC"].combine_chunks()


def _where(mask: np.ndarray, values: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), values, pa.nulls(len(values), pa.string()))


def etab_chunk(rng: np.random.Generator, start: int, n: int, n_units: int, communes) -> pa.Table:
    i = np.arange(start, start + n, dtype=np.int64)
    extra = i - n_units
    unit = np.where(i < n_units, i, extra % n_units)
    k = np.where(i < n_units, 1, 2 + extra // n_units)
    siren = _siren(unit)
    nic_prefix = k % 10_000
    siret_prefix = siren * 10_000 + nic_prefix
    siret = siret_prefix * 10 + _luhn_digit(siret_prefix, 13)
    codes, names = communes
    c = rng.integers(0, len(codes), n)
    code = codes.take(pa.array(c))
    active = rng.random(n) < 0.38
    nic = siret % 100_000
    cols: dict[str, pa.Array] = {
        name: pa.nulls(n, pa.string()) for name in formats.SIRENE_ETABLISSEMENT_COLUMNS
    }
    cols.update(
        siren=_pad(siren, 9),
        nic=_pad(nic, 5),
        siret=_pad(siret, 14),
        statutDiffusionEtablissement=_pick(rng, ["O", "P"], n, [0.97, 0.03]),
        dateCreationEtablissement=_dates(rng, n, "1960-01-01", "2026-09-30"),
        trancheEffectifsEtablissement=_where(rng.random(n) < 0.6, _pick(rng, TRANCHES, n)),
        anneeEffectifsEtablissement=_where(
            rng.random(n) < 0.3, _pick(rng, ["2021", "2022", "2023"], n)
        ),
        dateDernierTraitementEtablissement=_dates(rng, n, "2015-01-01", "2026-10-31", "T10:21:33"),
        etablissementSiege=pa.array(np.where(k == 1, "true", "false")),
        nombrePeriodesEtablissement=_pick(rng, ["1", "2", "3", "4"], n, [0.5, 0.3, 0.15, 0.05]),
        numeroVoieEtablissement=_pick(rng, [str(v) for v in range(1, 200)], n),
        typeVoieEtablissement=_pick(rng, VOIES, n),
        libelleVoieEtablissement=_pick(rng, STREETS, n),
        codePostalEtablissement=pc.utf8_slice_codeunits(code, 0, 2),
        libelleCommuneEtablissement=names.take(pa.array(c)),
        codeCommuneEtablissement=code,
        identifiantAdresseEtablissement=pc.binary_join_element_wise(
            code, _pad(rng.integers(0, 9999, n), 4), "_"
        ),
        coordonneeLambertAbscisseEtablissement=_pick(rng, _NUMBER_POOL, n),
        coordonneeLambertOrdonneeEtablissement=_pick(rng, _NUMBER_POOL, n),
        dateDebut=_dates(rng, n, "2000-01-01", "2026-09-30"),
        etatAdministratifEtablissement=pa.array(np.where(active, "A", "F")),
        enseigne1Etablissement=_where(rng.random(n) < 0.1, _pick(rng, LAST_NAMES, n)),
        activitePrincipaleEtablissement=_pick(rng, NAF_SAMPLE, n),
        nomenclatureActivitePrincipaleEtablissement=pa.array(np.full(n, "NAFRev2")),
        caractereEmployeurEtablissement=_pick(rng, ["O", "N"], n),
    )
    # postal code = département + 3 digits
    cols["codePostalEtablissement"] = pc.binary_join_element_wise(
        cols["codePostalEtablissement"], _pad(rng.integers(0, 999, n), 3), ""
    )
    return pa.table(
        [cols[c] for c in formats.SIRENE_ETABLISSEMENT_COLUMNS],
        names=list(formats.SIRENE_ETABLISSEMENT_COLUMNS),
    )


def unit_chunk(rng: np.random.Generator, start: int, n: int) -> pa.Table:
    u = np.arange(start, start + n, dtype=np.int64)
    person = rng.random(n) < 0.45
    cols: dict[str, pa.Array] = {
        name: pa.nulls(n, pa.string()) for name in formats.SIRENE_UNITE_LEGALE_COLUMNS
    }
    cols.update(
        siren=_pad(_siren(u), 9),
        statutDiffusionUniteLegale=_pick(rng, ["O", "P"], n, [0.96, 0.04]),
        dateCreationUniteLegale=_dates(rng, n, "1960-01-01", "2026-09-30"),
        sexeUniteLegale=_where(person, _pick(rng, ["M", "F"], n)),
        prenom1UniteLegale=_where(person, _pick(rng, FIRST_NAMES, n)),
        prenomUsuelUniteLegale=_where(person, _pick(rng, FIRST_NAMES, n)),
        trancheEffectifsUniteLegale=_where(rng.random(n) < 0.5, _pick(rng, TRANCHES, n)),
        dateDernierTraitementUniteLegale=_dates(rng, n, "2015-01-01", "2026-10-31"),
        nombrePeriodesUniteLegale=_pick(rng, ["1", "2", "3"], n),
        categorieEntreprise=_where(
            rng.random(n) < 0.3, _pick(rng, ["PME", "ETI", "GE"], n, [0.97, 0.025, 0.005])
        ),
        dateDebut=_dates(rng, n, "2000-01-01", "2026-09-30"),
        etatAdministratifUniteLegale=_pick(rng, ["A", "C"], n, [0.45, 0.55]),
        nomUniteLegale=_where(person, _pick(rng, LAST_NAMES, n)),
        denominationUniteLegale=_where(
            ~person,
            pc.binary_join_element_wise(
                pa.array(["SOCIETE"] * n), pa.array(u).cast(pa.string()), " "
            ),
        ),
        categorieJuridiqueUniteLegale=pa.array(np.where(person, "1000", "5710")),
        activitePrincipaleUniteLegale=_pick(rng, NAF_SAMPLE, n),
        nomenclatureActivitePrincipaleUniteLegale=pa.array(np.full(n, "NAFRev2")),
        nicSiegeUniteLegale=pa.array(np.full(n, "00010")),
        economieSocialeSolidaireUniteLegale=_pick(rng, ["N", "O"], n, [0.97, 0.03]),
        caractereEmployeurUniteLegale=_pick(rng, ["O", "N"], n),
    )
    return pa.table(
        [cols[c] for c in formats.SIRENE_UNITE_LEGALE_COLUMNS],
        names=list(formats.SIRENE_UNITE_LEGALE_COLUMNS),
    )


def write_zip(path: Path, member: str, chunks) -> None:
    opts = pacsv.WriteOptions(quoting_style="needed")
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf,
        zf.open(member, "w", force_zip64=True) as raw,
    ):
        writer = None
        for table in chunks:
            if writer is None:
                writer = pacsv.CSVWriter(raw, table.schema, write_options=opts)
            writer.write_table(table)
        if writer is not None:
            writer.close()


def generate(out: Path, rows: int, dep: str | None, seed: int = 7) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    n_units = max(1, int(rows * UNITS_PER_ETAB))
    communes = _communes(dep)
    etab = out / formats.SIRENE_ETABLISSEMENT_ZIP
    ul = out / formats.SIRENE_UNITE_LEGALE_ZIP
    write_zip(
        etab,
        formats.SIRENE_ETABLISSEMENT_CSV,
        (
            etab_chunk(rng, s, min(CHUNK, rows - s), n_units, communes)
            for s in range(0, rows, CHUNK)
        ),
    )
    write_zip(
        ul,
        formats.SIRENE_UNITE_LEGALE_CSV,
        (unit_chunk(rng, s, min(CHUNK, n_units - s)) for s in range(0, n_units, CHUNK)),
    )
    return etab, ul


# ---- ingestion (child process) --------------------------------------------------------------


def ingest(etab: Path, ul: Path, warehouse: Path, refs: Path, dq_max_rows: int | None) -> None:
    """Load referentials (untimed), then time the two SIRENE sources; prints JSON."""
    from datetime import date

    from ciblage.ingest import load_source, prepare
    from ciblage.ingest.runner import selected_specs
    from ciblage.ingest.specs import registry
    from ciblage.warehouse import connect

    shutil.copy(refs, warehouse)
    con = connect(warehouse)
    con.execute("SET memory_limit = '4GB'")
    con.execute("SET threads = 2")
    prepare(con)
    specs = registry()
    out = {}
    t0 = time.monotonic()
    for spec in selected_specs(["sirene_unite_legale", "sirene_etablissement"]):
        path = ul if spec.name == "sirene_unite_legale" else etab
        t = time.monotonic()
        r = load_source(
            con,
            spec,
            path,
            run_id="bench",
            as_of=date(2026, 11, 1),
            registry=specs,
            dq_max_rows=dq_max_rows,
        )
        out[spec.name] = {
            "status": r.status,
            "rows_read": r.rows_read,
            "rows_loaded": r.rows_loaded,
            "rows_quarantined": r.rows_quarantined,
            "seconds": round(time.monotonic() - t, 1),
            "phases": r.extra.get("phases"),
            "message": r.message[:500],
        }
    con.execute("CHECKPOINT")
    out["total_seconds"] = round(time.monotonic() - t0, 1)
    con.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out["peak_rss_gib"] = usage.ru_maxrss / 1024 / 1024
    out["cpu_seconds"] = usage.ru_utime + usage.ru_stime
    print(json.dumps(out))


def build_refs(path: Path) -> None:
    from datetime import date

    from ciblage.ingest import load_source, prepare
    from ciblage.ingest.specs import REF_BASSIN, REF_COMMUNES, REF_NAF, REF_POSTAL, registry
    from ciblage.warehouse import connect

    files = {
        "ref_bassin": "lbb-pse_bassin-emploi_code-insee.csv",
        "ref_postal": "laposte_hexasmal.csv",
        "ref_communes": "communes.csv",
        "ref_naf": "naf_data.sql",
    }
    con = connect(path)
    prepare(con)
    for spec in (REF_BASSIN, REF_POSTAL, REF_COMMUNES, REF_NAF):
        r = load_source(
            con,
            spec,
            REFERENCE / files[spec.name],
            run_id="refs",
            as_of=date(2026, 11, 1),
            registry=registry(),
        )
        assert r.status == "loaded", r.message
    con.close()


def timed_child(args: list[str]) -> tuple[dict, float]:
    """Run this script as a child; returns (its JSON, wall seconds)."""
    t = time.monotonic()
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    wall = time.monotonic() - t
    if proc.returncode:
        sys.stderr.write(proc.stderr[-4000:])
        raise SystemExit(f"child failed: {args}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def report(label: str, rows: int, result: dict, wall: float) -> None:
    etab = result["sirene_etablissement"]
    ul = result["sirene_unite_legale"]
    print(f"\n== {label}: {rows:,} establishments, {ul['rows_read']:,} legal units")
    for name, r in (("unite_legale", ul), ("etablissement", etab)):
        print(
            f"  {name:14s} {r['status']:7s} {r['seconds']:7.1f} s  "
            f"{r['rows_read'] / max(r['seconds'], 1e-9):>12,.0f} rows/s  phases {r['phases']}"
        )
        if r["status"] != "loaded":
            print(f"    {r['message']}")
    total_rows = etab["rows_read"] + ul["rows_read"]
    print(
        f"  ingest wall time {result['total_seconds']:.1f} s (child process {wall:.1f} s), "
        f"{total_rows / result['total_seconds']:,.0f} rows/s, "
        f"CPU {result['cpu_seconds']:.0f} s, peak RSS {result['peak_rss_gib']:.2f} GiB, "
        f"{os.cpu_count()} CPUs (shared with other jobs: load average "
        f"{os.getloadavg()[0]:.1f})"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=43_000_000)
    ap.add_argument("--keep", action="store_true", help="keep generated files and warehouses")
    ap.add_argument("--skip-generate", action="store_true", help="reuse bench/out files")
    ap.add_argument("--generate-only", action="store_true", help="write the files and stop")
    ap.add_argument(
        "--dq-all-rows", action="store_true", help="quality gate on every row, not a sample"
    )
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    ap.add_argument("--refs", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.generate_only and a.skip_generate:
        ap.error("--generate-only and --skip-generate exclude each other")
    if a.refs:
        build_refs(Path(a.refs))
        print("{}")
        return
    if a.child:
        ingest(*(Path(p) for p in a.child[:4]), int(a.child[4]) or None)
        return
    OUT.mkdir(parents=True, exist_ok=True)
    refs = OUT / "refs.duckdb"
    refs.unlink(missing_ok=True)
    timed_child(["--refs", str(refs)])
    runs = [
        ("national", a.rows, None, OUT / "national"),
        ("one département (45)", max(1000, a.rows // 100), "45", OUT / "dep45"),
    ]
    for label, rows, dep, folder in runs:
        if a.generate_only or not a.skip_generate:
            t = time.monotonic()
            etab, ul = generate(folder, rows, dep)
            print(
                f"generated {label}: {rows:,} rows, {etab.stat().st_size / 2**30:.2f} GiB + "
                f"{ul.stat().st_size / 2**30:.2f} GiB zipped in {time.monotonic() - t:.0f} s"
            )
        if a.generate_only:
            continue
        etab, ul = (
            folder / formats.SIRENE_ETABLISSEMENT_ZIP,
            folder / formats.SIRENE_UNITE_LEGALE_ZIP,
        )
        wh = folder / "warehouse.duckdb"
        for f in (wh, wh.with_suffix(".duckdb.wal")):
            f.unlink(missing_ok=True)
        dq = "0" if a.dq_all_rows else str(DQ_MAX_ROWS)
        result, wall = timed_child(["--child", str(etab), str(ul), str(wh), str(refs), dq])
        report(label, rows, result, wall)
        if not a.keep:
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()
