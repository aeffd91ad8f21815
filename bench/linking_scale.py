"""Time offer linking on a synthetic national-scale warehouse (wall time, peak RSS).

Generates, in DuckDB, `--establishments` establishments spread over the real COG
communes (skewed towards a few large towns, like SIRENE) with trade-word + surname names,
and `--offers` offers drawn from them with recruiter-style noise (legal form added, case
changed, enseigne used, a few SIRETs given), then runs `ciblage.linking.link_offers` and
prints the time, the workload and the precision/recall against the known employer.

    python bench/linking_scale.py --establishments 2000000 --offers 200000
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ciblage.config import PROJECT_ROOT  # noqa: E402
from ciblage.linking import link_offers  # noqa: E402

TRADES = (
    "BOULANGERIE", "BOUCHERIE", "GARAGE", "CARROSSERIE", "RESTAURANT", "BRASSERIE", "CAFE",
    "PIZZERIA", "HOTEL", "PHARMACIE", "TRANSPORTS", "NETTOYAGE", "PLOMBERIE", "ELECTRICITE",
    "MACONNERIE", "MENUISERIE", "PEINTURE", "COIFFURE", "CABINET", "CLINIQUE", "EHPAD",
    "MAGASIN", "BOUTIQUE", "SUPERMARCHE", "LOGISTIQUE", "IMMOBILIER", "INFORMATIQUE",
    "AMBULANCES", "TAXIS", "AUTO ECOLE", "FLEURISTE", "OPTIQUE", "TRAITEUR", "CRECHE",
)  # fmt: skip
SYLLABLES = (
    "MAR", "TIN", "BER", "NARD", "DU", "BOIS", "RO", "BERT", "PE", "TIT", "LE", "ROY", "GAR",
    "NIER", "FAU", "RE", "MO", "REL", "VIN", "CENT", "LA", "COMTE", "CHE", "VAL", "LIER", "FON",
    "TAINE", "GUE", "RIN", "BLAN", "CHARD", "MEY",
)  # fmt: skip


def build(con: duckdb.DuckDBPyConnection, n_est: int, n_off: int, seed: float) -> None:
    con.execute(f"SELECT setseed({seed})")
    communes = PROJECT_ROOT / "data" / "reference" / "communes.csv"
    con.execute(
        f"""CREATE TABLE commune AS
        SELECT row_number() OVER (ORDER BY hash(COM)) - 1 AS ci, COM AS code, DEP AS dep
        FROM read_csv('{communes}', all_varchar=true) WHERE TYPECOM = 'COM'"""
    )
    n_com = con.execute("SELECT count(*) FROM commune").fetchall()[0][0]
    trades = "[" + ", ".join(f"'{t}'" for t in TRADES) + "]"
    syl = "[" + ", ".join(f"'{s}'" for s in SYLLABLES) + "]"
    # ~32^2 + 32^3 surnames; communes skewed (random()^3) towards a few large towns.
    con.execute(
        f"""CREATE TABLE etablissement AS
        WITH g AS (
            -- names per legal unit (3 establishments each), as SIRENE holds them
            SELECT i, ({trades})[1 + (hash(i // 3, 1) % {len(TRADES)})::INT] AS trade,
                   ({syl})[1 + (hash(i // 3, 2) % {len(SYLLABLES)})::INT]
                   || ({syl})[1 + (hash(i // 3, 3) % {len(SYLLABLES)})::INT]
                   || CASE WHEN hash(i // 3, 4) % 2 = 0
                           THEN ({syl})[1 + (hash(i // 3, 5) % {len(SYLLABLES)})::INT]
                           ELSE '' END
                       AS surname,
                   floor({n_com} * pow(random(), 3))::INT AS ci
            FROM range({n_est}) t(i)
        )
        SELECT lpad((100000000 + i // 3)::VARCHAR, 9, '0') || lpad((i % 3 + 1)::VARCHAR, 5, '0')
                   AS siret,
               lpad((100000000 + i // 3)::VARCHAR, 9, '0') AS siren,
               c.code AS code_commune, c.dep AS code_departement,
               lpad((10 + hash(trade) % 80)::VARCHAR, 2, '0') || '01Z' AS naf_code,
               DATE '2000-01-01' + (hash(i, 6) % 9000)::INT AS date_creation,
               CASE WHEN hash(i, 7) % 10 = 0 THEN DATE '2026-01-01' - (hash(i, 8) % 2000)::INT
               END AS date_fermeture,
               CASE WHEN hash(i, 9) % 5 = 0 THEN trade || ' CHEZ ' || surname END AS enseigne,
               NULL::VARCHAR AS denomination_usuelle,
               ['01', '02', '03', '11', '12', '21', '22'][1 + (hash(i, 10) % 7)::INT]
                   AS tranche_effectifs,
               trade || ' ' || surname AS name
        FROM g JOIN commune c USING (ci)"""
    )
    con.execute(
        """CREATE TABLE unite_legale AS
        SELECT siren, min(name) AS denomination, NULL::VARCHAR AS nom,
               NULL::VARCHAR AS prenom
        FROM etablissement GROUP BY siren"""
    )
    # Offers: employers drawn among active establishments, names as recruiters type them.
    con.execute(
        """CREATE TABLE active AS
        SELECT row_number() OVER (ORDER BY siret) - 1 AS k, * FROM etablissement
        WHERE date_fermeture IS NULL"""
    )
    n_active = con.execute("SELECT count(*) FROM active").fetchall()[0][0]
    con.execute(
        f"""CREATE TABLE truth AS
        SELECT 'O' || o AS offre_id, a.siret,
               TIMESTAMP '2025-01-01' + to_minutes((hash(o, 1) % 700000)::BIGINT) AS ts,
               CASE (hash(o, 2) % 10)::INT
                   WHEN 0 THEN NULL
                   WHEN 1 THEN lower(a.name)
                   WHEN 2 THEN a.name || ' SARL'
                   WHEN 3 THEN 'SAS ' || a.name
                   WHEN 4 THEN coalesce(a.enseigne, a.name)
                   ELSE a.name END AS nom,
               CASE WHEN hash(o, 3) % 4 = 0 THEN a.siret END AS siret_given,
               a.code_commune, a.code_departement, left(a.naf_code, 2) AS secteur
        FROM range({n_off}) t(o)
        JOIN active a ON a.k = (hash(o, 4) % {n_active})"""
    )
    con.execute(
        """CREATE TABLE offre AS
        SELECT offre_id, ts AS date_creation, nom AS entreprise_nom,
               siret_given AS entreprise_siret, code_commune, code_departement,
               secteur AS secteur_activite
        FROM truth"""
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--establishments", type=int, default=1_000_000)
    ap.add_argument("--offers", type=int, default=100_000)
    ap.add_argument("--workers", type=int, default=-1)
    ap.add_argument("--seed", type=float, default=0.42)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        con = duckdb.connect(str(Path(tmp) / "bench.duckdb"))
        con.execute("SET preserve_insertion_order = false")
        t0 = time.perf_counter()
        build(con, args.establishments, args.offers, args.seed)
        t1, c1 = time.perf_counter(), time.process_time()
        counts = link_offers(con, "bench", workers=args.workers)
        t2, c2 = time.perf_counter(), time.process_time()
        ok, linked = con.execute(
            """SELECT count(*) FILTER (WHERE l.siret = t.siret), count(l.siret)
            FROM truth t LEFT JOIN offre_siret_link l USING (offre_id)"""
        ).fetchall()[0]
    rss_gib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"establishments: {args.establishments:,}  offers: {args.offers:,}")
    print(f"synthetic warehouse built in {t1 - t0:.1f} s")
    print(f"link_offers: {t2 - t1:.1f} s wall, {args.offers / (t2 - t1):,.0f} offers/s")
    # CPU time of all the process's threads: the work done, whatever else loads the machine.
    print(f"link_offers CPU time (all threads): {c2 - c1:.1f} s")
    print(f"peak RSS: {rss_gib:.2f} GiB")
    print(
        f"links: {counts['siret']:,} by SIRET, {counts['entity_resolution']:,} by name, "
        f"{counts['unlinked_no_name']:,} without name, {counts['unlinked_no_match']:,} no match; "
        f"{counts['name_pairs_scored']:,} name pairs scored"
    )
    print(f"precision {ok / max(linked, 1):.4f}  recall {ok / args.offers:.4f}")


if __name__ == "__main__":
    main()
