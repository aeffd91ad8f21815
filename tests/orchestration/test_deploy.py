"""`prefect deploy --all` accepts prefect.yaml, against a real local Prefect server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ciblage.config import PROJECT_ROOT

PREFECT = str(Path(sys.executable).with_name("prefect"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def prefect_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`prefect server start` on a free port with its own PREFECT_HOME (database)."""
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen(
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((tmp_path / "server.log").read_text()[-3000:])
            time.sleep(0.5)
        yield {**env, "PREFECT_API_URL": api}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _prefect(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    res = subprocess.run(
        [PREFECT, *args], env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, f"prefect {' '.join(args)}:\n{res.stdout}\n{res.stderr}"
    return res


@pytest.mark.slow
def test_prefect_deploy_all(prefect_server: dict[str, str]) -> None:
    env = prefect_server
    _prefect(env, "work-pool", "create", "ciblage-process", "--type", "process")
    _prefect(env, "--no-prompt", "deploy", "--all")
    resp = httpx.post(f"{env['PREFECT_API_URL']}/deployments/filter", json={}, timeout=30)
    resp.raise_for_status()
    deps = {d["name"]: d for d in resp.json()}
    assert set(deps) == {"nightly", "territory-rerun"}

    nightly = deps["nightly"]
    assert nightly["entrypoint"] == "pipelines/nightly.py:nightly_flow"
    assert nightly["work_pool_name"] == "ciblage-process"
    [schedule] = nightly["schedules"]
    assert schedule["schedule"]["cron"] == "30 2 * * *"
    assert schedule["schedule"]["timezone"] == "Europe/Paris"
    assert schedule["active"]
    props = nightly["parameter_openapi_schema"]["properties"]
    assert {"as_of", "territory", "sources", "horizon_months", "top_n"} <= set(props)

    rerun = deps["territory-rerun"]
    assert rerun["schedules"] == []
    assert rerun["entrypoint"] == "pipelines/nightly.py:territory_rerun_flow"
    assert {"territory", "as_of", "top_n"} <= set(rerun["parameter_openapi_schema"]["properties"])
    assert rerun["parameter_openapi_schema"]["required"] == ["territory"]
    # the worker runs the flows from the project folder
    step = rerun["pull_steps"][0]["prefect.deployments.steps.set_working_directory"]
    assert Path(step["directory"]) == PROJECT_ROOT
