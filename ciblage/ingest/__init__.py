"""One ingestion mechanism for every source: a declarative spec per source, one loader.

How a source is described (`ciblage/ingest/spec.py`, instances in `specs.py`; the DPAE
exports and their sector table in `dpae.py`):

    SourceSpec(name="hires_siret",               # key of [sources.<name>] in ciblage.toml
               tables=("hires_siret",),           # built by sql/hires_siret.sql, in order
               columns=("siret", "mois", ...),    # raw columns read, staged as VARCHAR
               reader=read_tabular,               # (path, spec) -> Iterator[RecordBatch]
               keys=("siret", "mois", "code_rome"),  # duplicates after the first: quarantine
               rules=(Rule("siret", "siret", "SIRET invalide"), ...),  # row rules
               checks=(Check("luhn", "siret", mostly=0.99), ...),  # GE expectations
               required=False)                    # optional: missing -> warn, keep last load

A reader yields `pyarrow.RecordBatch`es with the spec's `columns` as strings plus `_file`
and `_row` (the line a text editor shows, header = line 1), so every error and quarantined
row names its file, line and field; it raises `IngestError` when the file is not in the
expected format.
The SQL file of each table reads `{{ staging }}` (the staged rows that passed the row
rules) and creates `<table>__new`; the loader swaps all the spec's tables in one
transaction.

What `load_source` does for one source:
    fingerprint (size+mtime, sha256, dependencies, SQL) unchanged -> no-op
    stream into `stg_<source>` -> Great Expectations on the staged table (critical failure:
    the source fails, previous tables kept) -> the spec's own `validate` (DPAE: every sector
    value maps to a code of ref_dpae_secteur, else the source fails naming file, row, field
    and value) -> stale check (optional sources) -> row rules:
    offending rows to `quarantine` (run_id, source, file, row_number, field, value, reason,
    raw) -> SQL build of `<table>__new` from the rest -> atomic swap -> `source_load` and
    `run_ledger` rows (rows read / loaded / quarantined, status, message).
"""

from ciblage.ingest.build import ensure_tables
from ciblage.ingest.gate import QualityFailure
from ciblage.ingest.load import LoadResult, load_source, prepare
from ciblage.ingest.readers import IngestError
from ciblage.ingest.spec import Rule, SourceSpec

__all__ = [
    "IngestError",
    "LoadResult",
    "QualityFailure",
    "Rule",
    "SourceSpec",
    "ensure_tables",
    "load_source",
    "prepare",
]
