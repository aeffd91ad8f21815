"""The promotions ledger: import what agencies did with their lists, idempotently.

A promotion is keyed by what identifies it in the field (date, agency, SIRET, ROME,
pseudonymous job seeker id), so an agency can send the same growing file every week:
known rows are skipped, corrected outcomes update the row and the previous version goes
to `promotion_history`, and invalid rows are reported (file, row, field, value) while the
valid ones are imported. Names and contacts of job seekers are refused at the header
(see `reader`) and at the value (see `fields.parse_pseudo_id`).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from ciblage.followup import fields as F
from ciblage.followup.reader import PromotionFileError, RawRow, read_promotions_file
from ciblage.warehouse import run_sql_file, table_exists

log = logging.getLogger(__name__)

# A rejected id may be a name, an e-mail or a phone number: its value is never repeated in
# reports, logs or the quarantine table.
MASKED_FIELDS = ("id_demandeur", "id_conseiller")
MASK = "(masqué)"
KEY = ("date_promotion", "agency_code", "siret", "code_rome", "id_demandeur")
_PROMOTION_ONLY = ("date_promotion", "id_demandeur", "canal", "resultat", "date_resultat")
STAGING_SCHEMA = {
    "promotion_id": pl.String,
    "date_promotion": pl.Date,
    "agency_code": pl.String,
    "siret": pl.String,
    "code_rome": pl.String,
    "id_demandeur": pl.String,
    "id_conseiller": pl.String,
    "canal": pl.String,
    "resultat": pl.String,
    "date_resultat": pl.Date,
    "source_file": pl.String,
    "source_row": pl.Int32,
}


@dataclass(frozen=True)
class RowError:
    file: str
    row: int  # as the spreadsheet shows it
    field: str
    value: str
    message: str
    data_row: int = 0  # header excluded (quarantine.row_number is `row`, the line shown)

    def __str__(self) -> str:
        return f"{self.file}, ligne {self.row}, {self.field} = {self.value!r} : {self.message}"


@dataclass
class ImportReport:
    file: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0  # identical repeats of a row earlier in the same file
    blank_rows: int = 0  # list rows with no promotion filled in
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def rejected_rows(self) -> int:
        return len({(e.file, e.row) for e in self.errors})

    def summary_fr(self) -> str:
        return (
            f"{self.file} : {self.rows_read} ligne(s) lue(s), {self.inserted} ajoutée(s), "
            f"{self.updated} corrigée(s), {self.unchanged} déjà connue(s), "
            f"{self.rejected_rows} rejetée(s)"
        )


def promotion_id(rec: dict[str, Any]) -> str:
    """Stable id from the natural key, so re-imports and corrections find the same row."""
    key = "|".join(str(rec[k]) for k in KEY)
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]


def _err(raw: RawRow, column: str, value: object, message: str) -> RowError:
    text = "" if value is None else str(value)
    if column in MASKED_FIELDS and text:
        text = MASK
    return RowError(raw.location, raw.row, column, text, message, raw.data_row)


def _validate(
    raw: RawRow, today: date, known_romes: set[str] | None
) -> tuple[dict[str, Any] | None, list[RowError]]:
    v = raw.values
    errors: list[RowError] = []
    rec: dict[str, Any] = {}

    def take(name: str, column: str, parse: Any) -> None:
        try:
            rec[name] = parse(v.get(column))
        except F.FieldError as exc:
            errors.append(_err(raw, column, v.get(column), str(exc)))

    take("date_promotion", "date_promotion", lambda x: F.parse_date(x, today))
    take("agency_code", "code_agence", F.parse_agency)
    take("siret", "siret", F.parse_siret)
    take("code_rome", "code_rome", F.parse_rome)
    take("id_demandeur", "id_demandeur", lambda x: F.parse_pseudo_id(x, required=True))
    take("id_conseiller", "id_conseiller", lambda x: F.parse_pseudo_id(x, required=False))
    take("canal", "canal", F.parse_canal)
    take("resultat", "resultat", F.parse_resultat)
    blank_result_date = (
        v.get("date_resultat") in (None, "") or str(v["date_resultat"]).strip() == ""
    )
    rec["date_resultat"] = None
    if not blank_result_date:
        take("date_resultat", "date_resultat", lambda x: F.parse_date(x, today))
    if known_romes is not None and rec.get("code_rome") and rec["code_rome"] not in known_romes:
        errors.append(_err(raw, "code_rome", rec["code_rome"], "code ROME inconnu"))
    if not errors:
        if rec["date_resultat"] and rec["date_resultat"] < rec["date_promotion"]:
            errors.append(
                _err(
                    raw,
                    "date_resultat",
                    v.get("date_resultat"),
                    "date du résultat antérieure à la date de promotion",
                )
            )
        if rec["date_resultat"] and rec["resultat"] is None:
            errors.append(
                _err(
                    raw, "resultat", v.get("resultat"), "date de résultat renseignée sans résultat"
                )
            )
    if errors:
        return None, errors
    rec["promotion_id"] = promotion_id(rec)
    rec["source_file"] = raw.location
    rec["source_row"] = raw.row
    return rec, []


def _is_blank(raw: RawRow) -> bool:
    """A row of a downloaded list that the agency did not promote (nothing filled in)."""
    return all(str(raw.values.get(c) or "").strip() == "" for c in _PROMOTION_ONLY)


def known_romes(con: duckdb.DuckDBPyConnection) -> set[str] | None:
    """ROME codes of the loaded referentials (v4 fiches, their v3 parents, NAF×ROME)."""
    parts = []
    if table_exists(con, "ref_rome"):
        parts += ["SELECT code_rome FROM ref_rome", "SELECT code_rome_parent FROM ref_rome"]
    if table_exists(con, "ref_naf_rome"):
        parts.append("SELECT code_rome FROM ref_naf_rome")
    if not parts:
        return None
    rows = con.execute(" UNION ".join(parts)).fetchall()
    return {r[0] for r in rows if r[0]} or None


def validate_rows(
    rows: list[RawRow], today: date, known_romes: set[str] | None, report: ImportReport
) -> list[dict[str, Any]]:
    """Valid records, one per key; errors and duplicates are added to `report`."""
    by_key: dict[str, tuple[dict[str, Any], RawRow]] = {}
    for raw in rows:
        if _is_blank(raw):
            report.blank_rows += 1
            continue
        report.rows_read += 1
        rec, errors = _validate(raw, today, known_romes)
        report.errors.extend(errors)
        if rec is None:
            continue
        first = by_key.get(rec["promotion_id"])
        if first is None:
            by_key[rec["promotion_id"]] = (rec, raw)
            continue
        same = all(first[0][k] == rec[k] for k in ("id_conseiller", "canal", "resultat"))
        if same and first[0]["date_resultat"] == rec["date_resultat"]:
            report.duplicates += 1
        else:
            report.errors.append(
                _err(
                    raw,
                    "resultat",
                    raw.values.get("resultat"),
                    f"même promotion que la ligne {first[1].row} avec un autre suivi : "
                    "gardez une seule ligne par promotion",
                )
            )
    return [rec for rec, _ in by_key.values()]


def _quarantine(con: duckdb.DuckDBPyConnection, report: ImportReport, run_id: str) -> None:
    """Rejected rows also go to the shared quarantine table when the warehouse has one."""
    if not report.errors or not table_exists(con, "quarantine"):
        return
    con.executemany(
        "INSERT INTO quarantine (run_id, source, file, row_number, field, value, reason, raw) "
        "VALUES (?, 'promotions', ?, ?, ?, ?, ?, NULL)",
        [[run_id, e.file, e.row, e.field, e.value, e.message] for e in report.errors],
    )


def import_promotions(con: duckdb.DuckDBPyConnection, path: Path) -> ImportReport:
    """Import one CSV/XLSX file into `promotion`; raises PromotionFileError for file faults."""
    path = Path(path)
    read = read_promotions_file(path)
    report = ImportReport(
        file=path.name, warnings=read.warnings, ignored_columns=read.ignored_columns
    )
    records = validate_rows(read.rows, date.today(), known_romes(con), report)
    now = datetime.now(UTC).replace(tzinfo=None)
    staging = pl.DataFrame(records, schema=STAGING_SCHEMA)
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("promotion__staging", staging)
        run_sql_file(con, "promotion", {"imported_at": now}, staging="promotion__staging")
        counts = dict(
            con.execute("SELECT change, count(*) FROM promotion__diff GROUP BY ALL").fetchall()
        )
        run_sql_file(con, "promotion_history", {"replaced_at": now, "replaced_by": path.name})
        _quarantine(con, report, f"promotions-{now:%Y%m%dT%H%M%S}")
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("promotion__staging")
    report.inserted = counts.get("new", 0)
    report.updated = counts.get("changed", 0)
    report.unchanged = counts.get("unchanged", 0)
    log.info(
        "promotions import %s: read=%d inserted=%d updated=%d unchanged=%d rejected=%d",
        path.name,
        report.rows_read,
        report.inserted,
        report.updated,
        report.unchanged,
        report.rejected_rows,
    )
    return report


def import_promotions_cli(config: str | None, path: Path) -> None:
    """`ciblage promotions import FILE`: import, refresh outcomes and cool-down, print."""
    import typer
    from rich.console import Console
    from rich.table import Table

    from ciblage.config import load_settings
    from ciblage.followup.refresh import build_derived
    from ciblage.lock import warehouse_lock
    from ciblage.runs import lock_timeout_s, new_run_id
    from ciblage.warehouse import session

    console = Console()
    settings = load_settings(config)

    def waiting(message: str) -> None:
        console.print(f"[yellow]Entrepôt occupé, import en attente[/yellow] : {message}")

    # a writer like the runs: wait for the warehouse lock instead of failing on DuckDB's
    with (
        warehouse_lock(
            settings.warehouse,
            run_id=new_run_id(settings.as_of),
            flow="promotions-import",
            timeout_s=lock_timeout_s(settings),
            log=waiting,
        ),
        session(settings.warehouse) as con,
    ):
        try:
            report = import_promotions(con, path)
        except PromotionFileError as exc:
            console.print(f"[red]Fichier refusé[/red] : {exc}")
            raise typer.Exit(code=1) from exc
        derived = build_derived(con, settings)
    for w in report.warnings:
        console.print(f"[yellow]Attention[/yellow] : {w}")
    if report.ignored_columns:
        console.print("Colonnes ignorées (non enregistrées) : " + ", ".join(report.ignored_columns))
    console.print(report.summary_fr())
    console.print(
        f"Succès possibles d'après les données : {derived.possible_successes} ; "
        f"entreprises en pause (sans réponse) : {derived.cooldowns}"
    )
    if report.errors:
        table = Table("fichier", "ligne", "champ", "valeur", "erreur", title="Lignes rejetées")
        for e in report.errors:
            table.add_row(e.file, str(e.row), e.field, e.value, e.message)
        console.print(table)
        console.print(
            "[red]Des lignes ont été rejetées[/red] : corrigez-les et réimportez le fichier "
            "(les lignes déjà importées ne seront pas dupliquées)."
        )
        raise typer.Exit(code=1)
