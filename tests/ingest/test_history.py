"""Establishments closed before the model's history: counted, never loaded, never lost.

The nightly gives the SIRENE load the first day of the year of the earliest training
snapshot (scoring.features.history_start); rows closed before it stay out of the
warehouse (half of France's 43 M), and the scoring refuses a snapshot they would belong to.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from ciblage.ingest.load import loaded_history_start
from ciblage.ingest.spec import SourceSpec
from ciblage.ingest.specs import SIRENE_ETABLISSEMENT
from scoring.features import require_history

from .conftest import Loader
from .files import etab_row, etab_zip, geoloc_zip, siret, ul_row, ul_zip

ACTIVE = siret("44318460", "0001")
CLOSED_2022 = siret("44318460", "0002")
CLOSED_2019 = siret("44318460", "0003")
CLOSED_UNREADABLE = siret("44318460", "0004")  # a date the rules must see
CLOSED_2019_P = siret("55212340", "0001")  # private: must not leak by being left out


def _closed(s: str, day: str, **over: str) -> dict[str, str]:
    return etab_row(s, etablissementSiege="false", etatAdministratifEtablissement="F",
                    dateDebut=day, **over)  # fmt: skip


def _files(tmp: Path, n_active: int = 40) -> tuple[Path, Path, Path]:
    rows = [
        etab_row(ACTIVE),
        _closed(CLOSED_2022, "2022-06-30"),
        _closed(CLOSED_2019, "2019-03-31"),
        _closed(CLOSED_UNREADABLE, "2019-02-30"),
        _closed(CLOSED_2019_P, "2019-05-01", statutDiffusionEtablissement="P"),
        # enough clean rows that one unreadable date stays under the quality gate's 1 %
        *(etab_row(siret("88000000", f"{i:04d}")) for i in range(1, n_active + 1)),
    ]
    units = [ul_row(ACTIVE[:9]), ul_row(CLOSED_2019_P[:9]), ul_row(siret("88000000", "0001")[:9])]
    geo = [{"siret": ACTIVE, "qualite_xy": "11", "y_latitude": "47.9", "x_longitude": "1.9"}]
    return (
        etab_zip(tmp / "etab.zip", rows),
        ul_zip(tmp / "ul.zip", units),
        geoloc_zip(tmp / "geo.zip", geo),
    )


def _sirets(wh: duckdb.DuckDBPyConnection) -> set[str]:
    return {r[0] for r in wh.execute("SELECT siret FROM etablissement").fetchall()}


def test_rows_closed_before_the_history_are_counted_and_left_out(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    etab, ul, geo = _files(tmp_path)
    assert load("sirene_geoloc", geo).status == "loaded"
    assert load("sirene_unite_legale", ul).status == "loaded"
    r = load("sirene_etablissement", etab, history_start=date(2022, 1, 1))
    assert (r.status, r.rows_read, r.rows_loaded, r.rows_quarantined) == ("loaded", 45, 42, 1)
    assert r.extra["rows_before_history"] == 2
    assert "2 lignes antérieures à l'historique (avant le 01/01/2022) non chargées" in r.message
    sirets = _sirets(wh)
    assert ACTIVE in sirets and CLOSED_2022 in sirets
    assert not {CLOSED_2019, CLOSED_2019_P, CLOSED_UNREADABLE} & sirets
    # an unreadable closing date is not « before » anything: the rules quarantine it
    q = wh.execute(
        "SELECT field, value, reason FROM quarantine WHERE source = 'sirene_etablissement'"
    ).fetchall()
    assert q == [("dateDebut", "2019-02-30", "date illisible")]
    assert loaded_history_start(wh, "sirene_etablissement") == date(2022, 1, 1)
    # the same files and history: nothing to do; another history: loaded again
    again = load("sirene_etablissement", etab, "t2", history_start=date(2022, 1, 1))
    assert again.status == "unchanged"
    later = load("sirene_etablissement", etab, "t3", history_start=date(2023, 1, 1))
    assert (later.status, later.rows_read, later.rows_loaded) == ("loaded", 45, 41)
    assert CLOSED_2022 not in _sirets(wh)
    whole = load("sirene_etablissement", etab, "t4")
    assert (whole.status, whole.rows_loaded, whole.extra["rows_before_history"]) == (
        "loaded",
        44,
        0,
    )
    assert {CLOSED_2019, CLOSED_2019_P} <= _sirets(wh)
    assert loaded_history_start(wh, "sirene_etablissement") is None


def test_the_row_count_gate_compares_whole_files_and_still_refuses_a_truncated_one(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    """The previous load read every row; a history start leaving rows out is not a
    shrunken file, a file cut to a fifth is."""
    etab, ul, geo = _files(tmp_path)
    load("sirene_geoloc", geo)
    load("sirene_unite_legale", ul)
    assert load("sirene_etablissement", etab).rows_read == 45
    kept = load("sirene_etablissement", etab, "t2", history_start=date(2023, 1, 1))
    assert (kept.status, kept.rows_read, kept.rows_loaded) == ("loaded", 45, 41)
    short, _, _ = _files(tmp_path / "short", n_active=4)
    cut = load("sirene_etablissement", short, "t3", history_start=date(2023, 1, 1))
    assert cut.status == "failed" and "9 lignes contre 45 au chargement précédent" in cut.message
    assert len(_sirets(wh)) == 41  # the last good load stays


def test_scoring_refuses_a_snapshot_before_the_loaded_history(
    tmp_path: Path, load: Loader, wh: duckdb.DuckDBPyConnection
) -> None:
    etab, ul, geo = _files(tmp_path)
    load("sirene_geoloc", geo)
    load("sirene_unite_legale", ul)
    load("sirene_etablissement", etab, history_start=date(2022, 1, 1))
    require_history(wh, date(2024, 1, 1))  # reads back to 2022-01-01
    with pytest.raises(ValueError) as err:
        require_history(wh, date(2023, 12, 1))
    assert str(err.value) == (
        "l'entrepôt ne garde les établissements fermés qu'à partir du 01/01/2022 ; un "
        "instantané au 01/12/2023 lit les 24 mois avant lui : relancez l'ingestion avec ce "
        "--as-of (ciblage ingest --as-of 2023-12-01)"
    )
    load("sirene_etablissement", etab, "t2")  # every row: any snapshot
    require_history(wh, date(2001, 1, 1))


def test_a_history_needs_a_source_read_whole() -> None:
    with pytest.raises(ValueError, match="read whole"):
        SourceSpec(
            name="x",
            tables=(),
            columns=("v",),
            reader=SIRENE_ETABLISSEMENT.reader,
            history="TRUE",
            cache_files=lambda p: [p],
        )
