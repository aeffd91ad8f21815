"""Prefect's server started early by the CLI: used by the flows, then stopped (temporary)
or left for the next command (shared, the default)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ciblage import prefect_api

ROOT = Path(__file__).resolve().parents[1]


def test_nothing_started_with_a_configured_server_or_prefect_already_imported(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://prefect.example:4200/api")
    assert prefect_api.start_early() is None
    monkeypatch.delenv("PREFECT_API_URL")
    monkeypatch.setitem(sys.modules, "prefect", sys.modules.get("prefect") or object())
    assert prefect_api.start_early() is None  # its settings are already read: too late
    prefect_api.wait_ready()  # no early server: nothing to wait for
    prefect_api.stop()


_SCRIPT = textwrap.dedent(
    """
    import os, sys
    from ciblage import prefect_api
    server = prefect_api.start_early()
    assert server is not None and os.environ["PREFECT_API_URL"] == server.api_url
    from prefect import flow

    @flow
    def answer() -> int:
        return 42

    print("waited", prefect_api._current["server"].wait_ready())
    prefect_api.wait_ready()
    assert answer() == 42
    from prefect.settings import PREFECT_API_URL
    print("api", PREFECT_API_URL.value() == server.api_url)
    print("own server", "prefect.server.api.server" in sys.modules)
    prefect_api.stop()
    print("port", server.port, "started here", server.process is not None)
    print("stopped", not server.alive())
    """
)


def _command(env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "api True" in done.stdout
    assert "own server False" in done.stdout  # Prefect did not start a second one
    return dict(line.split(" ", 1) for line in done.stdout.splitlines())


def _env(tmp_path: Path, idle_minutes: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PREFECT_API_URL",) and not k.startswith("PREFECT__")
    }
    return {**env, "PREFECT_HOME": str(tmp_path), prefect_api.IDLE_ENV: idle_minutes}


@pytest.mark.slow
def test_flows_run_on_the_early_server_and_it_stops_with_idle_zero(tmp_path: Path):
    out = _command(_env(tmp_path, "0"))
    assert out["stopped"] == "True"
    assert not list(tmp_path.glob(prefect_api.STATE_PREFIX + "*.json"))


@pytest.mark.slow
def test_the_next_command_finds_the_shared_server_ready(tmp_path: Path, monkeypatch):
    env = _env(tmp_path, "5")
    try:
        first, second = _command(env), _command(env)
    finally:
        monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
        prefect_api.stop_shared()
    records = list(tmp_path.glob(prefect_api.STATE_PREFIX + "*.json"))
    for _ in range(300):  # Prefect's app shuts down, then the record goes
        if not any(r.exists() for r in records):
            break
        time.sleep(0.1)
    assert not any(r.exists() for r in records), "a stopped server left its record"
    assert first["port"].endswith("started here True")
    assert first["stopped"] == "False"  # left for the next command
    assert second["port"] == first["port"].replace("True", "False")  # the same, reused
    assert float(second["waited"]) < 1.0  # no start-up to wait for


def test_score_flow_imports_skops_without_pytest_and_dask_and_they_still_import():
    """The rerun's start-up: skops' detours skipped, nothing broken for later imports."""
    script = textwrap.dedent(
        """
        import sys
        import pipelines.score  # noqa: F401
        assert "skops.io" in sys.modules
        assert "pytest" not in sys.modules and "dask" not in sys.modules
        from skops.io._trusted_types import SKLEARN_ESTIMATOR_TYPE_NAMES as names
        assert "sklearn.ensemble._hist_gradient_boosting.gradient_boosting." \\
            "HistGradientBoostingRegressor" in names
        import dask.array, pytest  # noqa: E401, F401
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
