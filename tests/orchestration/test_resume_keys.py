"""Inputs fingerprint and stage keys: what makes a completed stage reusable or not."""

from __future__ import annotations

import os
from pathlib import Path

from ciblage.config import load_settings
from ciblage.resume import inputs_fingerprint, stage_key


def _cfg(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "offres").mkdir(exist_ok=True)
    (tmp_path / "offres" / "a.json").write_text("[]")
    (tmp_path / "sirene.zip").write_bytes(b"PK")
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text(
        '[sources.sirene]\npath = "sirene.zip"\n[sources.offres]\npath = "offres"\n'
        '[sources.dpae]\nurl = "https://example.org/dpae.csv"\n' + extra
    )
    return cfg


def test_fingerprint_follows_files_and_config(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path)
    s = load_settings(cfg)
    base = inputs_fingerprint(s)
    assert inputs_fingerprint(load_settings(cfg)) == base  # stable
    (tmp_path / "offres" / "b.json").write_text("[]")  # a new file in a folder source
    assert inputs_fingerprint(s) != base
    base = inputs_fingerprint(s)
    st = (tmp_path / "sirene.zip").stat()
    os.utime(tmp_path / "sirene.zip", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert inputs_fingerprint(s) != base
    # only the selected sources count
    only = inputs_fingerprint(s, ["offres"])
    (tmp_path / "sirene.zip").write_bytes(b"PK2")
    assert inputs_fingerprint(s, ["offres"]) == only
    # any edit of the config (thresholds, paths) changes it
    cfg2 = _cfg(tmp_path, "[run]\ntop_n = 10\n")
    assert inputs_fingerprint(load_settings(cfg2), ["offres"]) != only


def test_stage_key_chains_upstream() -> None:
    k1 = stage_key("score", {"as_of": "2026-11-01"}, "ingest-a")
    assert k1 == stage_key("score", {"as_of": "2026-11-01"}, "ingest-a")
    assert k1 != stage_key("score", {"as_of": "2026-11-01"}, "ingest-b")
    assert k1 != stage_key("score", {"as_of": "2026-12-01"}, "ingest-a")
    assert k1 != stage_key("publish", {"as_of": "2026-11-01"}, "ingest-a")


def test_dask_runner_from_config(tmp_path: Path) -> None:
    from prefect.task_runners import ProcessPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from pipelines.task_runners import publish_task_runner

    cfg = tmp_path / "ciblage.toml"
    cfg.write_text("[runs]\nkeep = 5\npublish_processes = 1\n")
    assert publish_task_runner(load_settings(cfg)) is None
    cfg.write_text("[runs]\npublish_processes = 2\n")
    runner = publish_task_runner(load_settings(cfg))
    assert isinstance(runner, ProcessPoolTaskRunner) and runner._max_workers == 2
    # a territory rerun's few agencies: threads (spawned workers cost more than they save)
    assert publish_task_runner(load_settings(cfg), "dep:45") is None
    cfg.write_text('[runs]\ndask_address = "tcp://10.0.0.5:8786"\n')
    runner = publish_task_runner(load_settings(cfg))
    assert isinstance(runner, DaskTaskRunner) and runner.address == "tcp://10.0.0.5:8786"
    cfg.write_text("[runs]\ndask_workers = 3\n")
    runner = publish_task_runner(load_settings(cfg))
    assert runner.cluster_kwargs == {"n_workers": 3, "processes": True}
