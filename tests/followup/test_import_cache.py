"""A configured ledger is read again only when the file, its validation inputs or the
`promotion` table changed (ciblage.followup.import_cache)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ciblage.followup import import_cache
from ciblage.followup.import_cache import import_if_changed
from ciblage.followup.ledger import import_promotions

from .ledgers import SIRET_A, SIRET_B, write_csv

ROWS = [
    ["12/09/2026", "45A", SIRET_A, "M1607", "c01", "d001", "mail", "Sans réponse", ""],
    ["13/09/2026", "45A", SIRET_B, "M1607", "c01", "d002", "mail", "Entretien", "01/01/2099"],
]
TODAY = date(2026, 11, 28)


@pytest.fixture()
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files actually read and validated."""
    seen: list[Path] = []

    def counting(con: duckdb.DuckDBPyConnection, path: Path):  # noqa: ANN202
        seen.append(path)
        return import_promotions(con, path)

    monkeypatch.setattr(import_cache, "import_promotions", counting)
    return seen


def test_unchanged_file_is_not_read_again_and_keeps_its_report(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, reads: list[Path]
) -> None:
    path = write_csv(tmp_path / "suivi.csv", ROWS)
    first, imported = import_if_changed(con, path, TODAY)
    assert imported and len(reads) == 1
    assert first.rejected_rows == 1  # the result dated 2099 is refused
    again, imported = import_if_changed(con, path, TODAY)
    assert not imported and len(reads) == 1
    assert again == first  # same counts, same rejected row (logged again by the caller)


def test_each_change_means_a_new_import(
    tmp_path: Path, con: duckdb.DuckDBPyConnection, reads: list[Path]
) -> None:
    path = write_csv(tmp_path / "suivi.csv", ROWS)
    import_if_changed(con, path, TODAY)
    import_if_changed(con, path, date(2026, 11, 29))  # another day: dates judged anew
    assert len(reads) == 2
    write_csv(path, ROWS[:1])  # the agency edited the file
    import_if_changed(con, path, date(2026, 11, 29))
    assert len(reads) == 3
    other = write_csv(tmp_path / "autre.csv", [[*ROWS[1][:7], "Refus", ""]])
    import_promotions(con, other)  # `ciblage promotions import` of another file
    import_if_changed(con, path, date(2026, 11, 29))
    assert len(reads) == 4  # the promotion table changed since: imported again
    con.execute("CREATE TABLE ref_rome AS SELECT 'M1607' AS code_rome, 'M16' AS code_rome_parent")
    import_if_changed(con, path, date(2026, 11, 29))
    assert len(reads) == 5  # the ROME referential changed
    import_if_changed(con, path, date(2026, 11, 29))
    assert len(reads) == 5
