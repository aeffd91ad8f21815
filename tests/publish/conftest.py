"""Fixtures of the publication tests: the synthetic warehouse and a config pointing at it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ciblage.config import Settings, load_settings
from tests.publish.synthetic import build_warehouse, write_config


@pytest.fixture(scope="session")
def synth_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_warehouse(tmp_path_factory.mktemp("synth") / "warehouse.duckdb")


@pytest.fixture()
def synth_settings(tmp_path: Path, synth_warehouse: Path) -> Settings:
    cfg = write_config(tmp_path / "ciblage.toml", synth_warehouse, tmp_path / "output")
    return load_settings(cfg)


def make_settings(tmp_path: Path, warehouse: Path, publish: str = "") -> Settings:
    cfg = write_config(tmp_path / "ciblage.toml", warehouse, tmp_path / "output", publish)
    return load_settings(cfg)


@pytest.fixture(scope="session")
def synth_published(tmp_path_factory: pytest.TempPathFactory, prefect_harness: None) -> dict:
    """publish_flow run on a private synthetic warehouse (the flow writes follow-up tables)."""
    from pipelines.publish import publish_flow

    work = tmp_path_factory.mktemp("synth_publish")
    warehouse = build_warehouse(work / "warehouse.duckdb")
    cfg = write_config(work / "ciblage.toml", warehouse, work / "output")
    result = publish_flow(config=str(cfg))
    return {**result, "config": str(cfg), "warehouse": warehouse}
