"""The Offres API client against a loopback fake server (tests/offers/conftest.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from ciblage.sources.offres_api import (
    OffresApiClient,
    OffresApiError,
    OffresApiSettings,
    fetch_offres,
    parse_content_range,
    parse_retry_after,
)
from ciblage.sources.offres_json import read_offres

from .helpers import CLIENT_ID, CLIENT_SECRET, FakeApi, make_offers

START = datetime(2026, 10, 1, tzinfo=UTC)
END = datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC)


def client(api: FakeApi, sleeps: list[float]) -> OffresApiClient:
    settings = OffresApiSettings(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        token_url=api.token_url,
        search_url=api.search_url,
        min_interval_seconds=0,
    )
    return OffresApiClient(settings, sleep=sleeps.append)


def harvested_ids(folder: Path) -> list[str]:
    return [r["offre_id"] for b in read_offres(folder) for r in b.to_pylist()]


def test_window_split_paging_429_and_token_expiry(fake_api: FakeApi, tmp_path: Path) -> None:
    fake_api.offers = make_offers("45", 3000, START, timedelta(days=30)) + make_offers(
        "28", 40, START, timedelta(days=30)
    )
    fake_api.throttle_at = {3}
    fake_api.expire_token_at = {6}
    fake_api.server_error_at = {9}
    sleeps: list[float] = []
    with client(fake_api, sleeps) as c:
        report = c.harvest(["45", "28", "41"], START, END, tmp_path / "raw")

    ids = harvested_ids(tmp_path / "raw")
    # Every offer exactly once: windows are split without overlap or gap.
    assert sorted(ids) == sorted(o["id"] for o in fake_api.offers)
    assert len(ids) == len(set(ids)) == report.offers == 3040
    assert report.window_splits >= 2 and not report.truncated
    # Every search stayed within the API's rules (range <= 150 wide, below the cap).
    for q in fake_api.searches:
        p, d = (int(x) for x in q["range"].split("-"))
        assert d - p + 1 <= 150 and d <= 1149
    assert 7.0 in sleeps  # Retry-After honoured on the 429
    assert 1.0 in sleeps or 2.0 in sleeps  # exponential back-off on the 503
    assert report.retries == 2 and report.token_refreshes == 1
    assert fake_api.tokens_issued == 2
    # Pages are saved as search responses, one file per page, none left half-written.
    assert all(p.suffix == ".json" for p in (tmp_path / "raw").iterdir())
    assert len(report.files) == len(list((tmp_path / "raw").iterdir()))


def test_single_page_window_and_empty_departement(fake_api: FakeApi, tmp_path: Path) -> None:
    fake_api.offers = make_offers("45", 12, START, timedelta(days=3))
    with client(fake_api, []) as c:
        report = c.harvest(["45", "41"], START, END, tmp_path)
    assert report.offers == 12 and len(report.files) == 1 and report.window_splits == 0


def test_more_than_the_cap_in_one_second_is_reported(fake_api: FakeApi, tmp_path: Path) -> None:
    fake_api.offers = make_offers("45", 1300, START, timedelta(seconds=0))
    with client(fake_api, []) as c:
        report = c.harvest(["45"], START, START, tmp_path)
    assert report.offers == 1150
    assert report.truncated == [("45", "2026-10-01T00:00:00Z", "2026-10-01T00:00:00Z", 1300)]


def test_bad_credentials_fail_clearly(fake_api: FakeApi, tmp_path: Path) -> None:
    settings = OffresApiSettings(
        client_id="nobody",
        client_secret="x",
        token_url=fake_api.token_url,
        search_url=fake_api.search_url,
    )
    with (
        OffresApiClient(settings, sleep=lambda s: None) as c,
        pytest.raises(OffresApiError, match="demande de jeton .* HTTP 401"),
    ):
        c.harvest(["45"], START, END, tmp_path)


def test_retries_run_out(fake_api: FakeApi, tmp_path: Path) -> None:
    fake_api.offers = make_offers("45", 5, START, timedelta(days=1))
    fake_api.server_error_at = set(range(1, 50))
    sleeps: list[float] = []
    with client(fake_api, sleeps) as c, pytest.raises(OffresApiError, match="HTTP 503 après 6"):
        c.harvest(["45"], START, END, tmp_path)
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0]


def test_fetch_offres_reads_config_and_env(fake_api: FakeApi, tmp_path: Path) -> None:
    fake_api.offers = make_offers("45", 30, datetime(2026, 10, 20, tzinfo=UTC), timedelta(days=5))
    section = {
        "client_id_env": "MY_ID",
        "client_secret_env": "MY_SECRET",
        "token_url": fake_api.token_url,
        "search_url": fake_api.search_url,
        "departements": ["45"],
        "days": 31,
        "min_interval_seconds": 0,
    }
    env = {"MY_ID": CLIENT_ID, "MY_SECRET": CLIENT_SECRET}
    report = fetch_offres(section, tmp_path, today=date(2026, 11, 1), environ=env)
    assert report.offers == 30
    assert {p.parent for p in report.files} == {tmp_path / "offres" / "2026-11-01"}
    q = fake_api.searches[0]
    assert (q["minCreationDate"], q["maxCreationDate"]) == (
        "2026-10-01T00:00:00Z",
        "2026-10-31T23:59:59Z",
    )
    with pytest.raises(OffresApiError, match="MY_ID, MY_SECRET"):
        fetch_offres(section, tmp_path, environ={})


def test_header_parsing() -> None:
    assert parse_content_range("offres 0-149/3450") == (0, 149, 3450)
    assert parse_content_range("offres 0-149/*") == (0, 149, None)
    assert parse_content_range(None) is None
    assert parse_retry_after("3") == 3.0
    now = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Sun, 01 Nov 2026 12:00:05 GMT", now) == 5.0
    assert parse_retry_after("soon") is None


def test_fetch_offres_command(fake_api: FakeApi, tmp_path: Path, monkeypatch, caplog) -> None:
    """French summary; progress through `ciblage.progress` (the same lines as every stage:
    start, end with the outcome), not a spinner of its own."""
    import logging

    from french_text import assert_french
    from typer.testing import CliRunner

    from ciblage.cli import app
    from ciblage.progress import LOGGER_NAME

    fake_api.offers = make_offers("57", 20, datetime.now(UTC) - timedelta(days=3), timedelta(1))
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text(
        f"""[paths]
raw = "raw"
[offres_api]
client_id_env = "T_ID"
client_secret_env = "T_SECRET"
token_url = "{fake_api.token_url}"
search_url = "{fake_api.search_url}"
departements = ["45"]
min_interval_seconds = 0
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("T_ID", CLIENT_ID)
    monkeypatch.setenv("T_SECRET", CLIENT_SECRET)
    with caplog.at_level(logging.INFO, logger=LOGGER_NAME):
        result = CliRunner().invoke(
            app, ["fetch-offres", "-c", str(cfg), "-d", "57", "-d", "45", "--days", "7"]
        )
    assert result.exit_code == 0, result.output
    assert "20 offres en 1 pages" in result.output
    assert_french(result.output)
    assert len(list((tmp_path / "raw" / "offres").glob("*/offres_57_*.json"))) == 1
    lines = [r.getMessage() for r in caplog.records if r.name == LOGGER_NAME]
    assert lines[0] == "collecte offres : 2 départements à traiter"
    assert lines[-1].startswith("collecte offres : 2/2 départements en ")
    assert lines[-1].endswith(", 20 offres en 1 pages, 3 requêtes")


def test_fetch_offres_without_credentials_is_one_french_line(tmp_path: Path, monkeypatch) -> None:
    from french_text import assert_french
    from typer.testing import CliRunner

    from ciblage.cli import app

    cfg = tmp_path / "ciblage.toml"
    cfg.write_text(
        '[offres_api]\nclient_id_env = "NO_ID_X"\nclient_secret_env = "NO_SECRET_X"\n',
        encoding="utf-8",
    )
    monkeypatch.delenv("NO_ID_X", raising=False)
    monkeypatch.delenv("NO_SECRET_X", raising=False)
    result = CliRunner().invoke(app, ["fetch-offres", "-c", str(cfg), "-d", "45"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith("erreur : identifiants de l'API Offres d'emploi absents")
    assert "NO_ID_X, NO_SECRET_X" in lines[0]
    assert_french(lines[0].replace("francetravail.io", ""))


def test_ingest_source_in_harvest_mode(fake_api: FakeApi, tmp_path: Path, monkeypatch) -> None:
    """`[sources.offres] harvest = "offres_api"`: the ingest's fetch step calls the API."""
    from ciblage.config import load_settings
    from ciblage.ingest.runner import resolve_path

    fake_api.offers = make_offers("57", 15, datetime.now(UTC) - timedelta(days=3), timedelta(1))
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text(
        f"""[paths]
raw = "raw"
[sources.offres]
harvest = "offres_api"
[offres_api]
client_id_env = "T_ID"
client_secret_env = "T_SECRET"
token_url = "{fake_api.token_url}"
search_url = "{fake_api.search_url}"
departements = ["57"]
days = 7
min_interval_seconds = 0
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("T_ID", CLIENT_ID)
    monkeypatch.setenv("T_SECRET", CLIENT_SECRET)
    folder = resolve_path(load_settings(cfg), "offres")
    assert folder == tmp_path / "raw" / "offres"
    assert len(harvested_ids(folder)) == 15
