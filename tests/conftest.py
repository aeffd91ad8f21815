"""Shared fixtures: one Prefect harness and one sample pipeline chain per test session.

Stage tests that need a warehouse ask for `ingested_settings`, `scored_settings` or
`published_dir`; each builds on the previous one, so the sample is generated, ingested,
scored and published at most once per session. Tests that modify the warehouse must work
on a copy (`warehouse_copy`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ciblage.config import Settings, load_settings, write_relocated_config


@pytest.fixture(scope="session", autouse=True)
def shared_prefect_server_short_lived() -> None:
    """Commands run as `ciblage` (console script) share a detached Prefect server
    (ciblage.prefect_api): one the tests start retires after a minute idle. The session
    does not stop it itself: it may be the one an analyst's command is using."""
    import os

    from ciblage import prefect_api

    os.environ.setdefault(prefect_api.IDLE_ENV, "1")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One temporary Prefect API for the whole session (a flow run without it costs ~6 s)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A freshly generated sample (same generator and seed as the shipped one)."""
    from ciblage.sample import generate

    out = tmp_path_factory.mktemp("sample")
    generate(out, seed=42)
    return out


@pytest.fixture(scope="session")
def e2e_config(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Path:
    work = tmp_path_factory.mktemp("e2e")
    return write_relocated_config(work / "ciblage.toml", sample_dir, work)


@pytest.fixture(scope="session")
def ingested_settings(e2e_config: Path, prefect_harness: None) -> Settings:
    from pipelines.ingest import ingest_flow

    ingest_flow(config=str(e2e_config))
    return load_settings(e2e_config)


@pytest.fixture(scope="session")
def scored_settings(ingested_settings: Settings) -> Settings:
    from pipelines.score import score_flow

    score_flow(config=str(ingested_settings.config_path))
    return ingested_settings


@pytest.fixture(scope="session")
def published_dir(scored_settings: Settings) -> Path:
    """Folder of the published run (what `latest` points at after publish)."""
    from pipelines.publish import publish_flow

    result = publish_flow(config=str(scored_settings.config_path))
    return Path(result["run_dir"])


@pytest.fixture()
def warehouse_copy(tmp_path: Path, ingested_settings: Settings) -> Path:
    """A private copy of the session warehouse for tests that write to it."""
    dst = tmp_path / "warehouse.duckdb"
    shutil.copy(ingested_settings.warehouse, dst)
    return dst
