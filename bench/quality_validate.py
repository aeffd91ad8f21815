"""Benchmark: Great Expectations validation of a SIRENE-like staging table, per département.

Generates N establishments in DuckDB (all VARCHAR, like the ingestion's staging table,
Luhn-valid SIRETs, communes drawn from the real COG, 0.01 % defects so that failures and
examples are exercised), then times `validate_table` with the SIRENE checks, partitioned
by département, in a child process whose peak RSS is measured on its own.

    python bench/quality_validate.py                 # 5 M rows
    python bench/quality_validate.py --rows 43000000 # national scale

DuckDB runs with 2 threads and the ingestion's default memory_limit (4GB); the peak RSS
printed is the validation process's (DuckDB + pandas + Great Expectations).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

COMMUNES = ROOT / "data" / "reference" / "communes.csv"
NAF = ["47.11F", "56.10A", "43.21A", "86.21Z", "62.01Z", "10.71C", "49.41A", "85.20Z"]


def generate(db: Path, rows: int) -> None:
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("SET threads = 2")
    con.execute("SET enable_progress_bar = false")
    con.execute(
        "CREATE TABLE ref_commune AS SELECT COM AS code_commune, DEP AS code_departement "
        f"FROM read_csv('{COMMUNES}', all_varchar = true) WHERE TYPECOM = 'COM'"
    )
    con.execute(
        "CREATE TEMP TABLE c AS SELECT row_number() OVER () - 1 AS k, code_commune FROM ref_commune"
    )
    n_communes = con.execute("SELECT count(*) FROM c").fetchall()[0][0]
    naf = "[" + ", ".join(f"'{x}'" for x in NAF) + "]"
    # SIRET = 13 digits + Luhn check digit (digits at even positions from the left are doubled)
    con.execute(
        f"""
        CREATE TABLE stg_etablissement AS
        WITH base AS (
            SELECT i, lpad(CAST((i * 7919 + 100000000) % 10000000000000 AS VARCHAR), 13, '0') AS b
            FROM range({rows}) t(i)
        ), checked AS (
            SELECT i, b || CAST((10 - list_sum(list_transform(range(13), lambda k:
                CASE WHEN k % 2 = 0 THEN
                    CASE WHEN CAST(substr(b, k + 1, 1) AS INT) > 4
                         THEN CAST(substr(b, k + 1, 1) AS INT) * 2 - 9
                         ELSE CAST(substr(b, k + 1, 1) AS INT) * 2 END
                ELSE CAST(substr(b, k + 1, 1) AS INT) END)) % 10) % 10 AS VARCHAR) AS siret
            FROM base
        )
        SELECT
            CASE WHEN i % 10007 = 5 THEN left(siret, 13) || '0' ELSE siret END AS siret,
            left(siret, 9) AS siren,
            CASE WHEN i % 20011 = 7 THEN '99999' ELSE c.code_commune END
                AS codeCommuneEtablissement,
            {naf}[1 + i % {len(NAF)}] AS activitePrincipaleEtablissement,
            CASE WHEN i % 30011 = 3 THEN '2020-02-30'
                 ELSE strftime(DATE '1990-01-01' + CAST(i % 12000 AS INT), '%Y-%m-%d') END
                AS dateCreationEtablissement,
            CASE WHEN i % 3 = 0 THEN 'F' ELSE 'A' END AS etatAdministratifEtablissement,
            CAST(i + 2 AS VARCHAR) AS line
        FROM checked JOIN c ON c.k = (i * 104729) % {n_communes}
        """
    )
    con.close()


def validate(db: Path, previous_rows: int, memory_limit: str) -> None:
    import duckdb

    from ciblage.quality import Check, validate_table

    con = duckdb.connect(str(db))
    con.execute("SET threads = 2")
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute("SET enable_progress_bar = false")
    checks = [
        Check.not_null("siret"),
        Check.unique("siret"),
        Check.regex("siret", "[0-9]{14}"),
        Check.luhn("siret", mostly=0.999),
        Check.regex("activitePrincipaleEtablissement", r"[0-9]{2}\.[0-9]{2}[A-Z]"),
        Check.in_table(
            "codeCommuneEtablissement", "ref_commune.code_commune", mostly=0.999, critical=False
        ),
        Check.date_parse("dateCreationEtablissement", "%Y-%m-%d", mostly=0.999),
        Check.in_set("etatAdministratifEtablissement", ["A", "F"]),
        Check.row_count_ratio(0.98),
    ]
    t0, c0 = time.perf_counter(), time.process_time()
    outcome = validate_table(
        con,
        run_id="bench",
        source="sirene_etablissement",
        table="stg_etablissement",
        checks=checks,
        partition_by="left(codeCommuneEtablissement, 2)",
        previous_rows=previous_rows,
        file="StockEtablissement_utf8.zip",
        row_column="line",
    )
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"validate: {outcome.rows:,} rows, {outcome.partitions} partitions, "
        f"{len(outcome.results)} results in {elapsed:.1f} s wall, {cpu:.1f} s CPU "
        f"({outcome.rows / elapsed:,.0f} rows/s); passed={outcome.passed}"
    )
    print(outcome.message().splitlines()[0][:200])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--db", type=Path, help="reuse/keep this DuckDB file")
    parser.add_argument(
        "--memory-limit", default="4GB", help="DuckDB memory_limit (the ingestion's default)"
    )
    parser.add_argument("--validate-only", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.validate_only:
        validate(args.validate_only, previous_rows=args.rows, memory_limit=args.memory_limit)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.duckdb"
        if not db.exists():
            t0 = time.perf_counter()
            generate(db, args.rows)
            print(f"generate: {args.rows:,} rows in {time.perf_counter() - t0:.1f} s")
        t0 = time.perf_counter()
        subprocess.run(
            [sys.executable, __file__, "--rows", str(args.rows), "--validate-only", str(db)]
            + ["--memory-limit", args.memory_limit],
            check=True,
        )
        wall = time.perf_counter() - t0
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(
            f"validation process (incl. imports): wall {wall:.1f} s, "
            f"CPU {usage.ru_utime + usage.ru_stime:.1f} s, "
            f"peak RSS {usage.ru_maxrss / 1024:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
