"""Kill `ciblage run` in the middle of `score`, rerun: ingest is reused, results are equal.

Both runs are real `ciblage run` processes. They talk to the session's Prefect API (the
`prefect_harness`) instead of each starting an ephemeral one, which only saves time.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from orch_fixtures import clone_config, comparable_scores, comparable_targets
from polars.testing import assert_frame_equal

from ciblage.config import load_settings
from ciblage.lock import lock_holder
from ciblage.runs import latest_run_dir
from ciblage.warehouse import session

CIBLAGE = str(Path(sys.executable).with_name("ciblage"))
# the score flow's first task (training) has finished: the stage is half done
MID_SCORE = re.compile(r"Task run 'train-model-[^']*' - Finished in state Completed")


def _env(tmp_path: Path) -> dict[str, str]:
    from prefect.settings import PREFECT_API_URL

    return {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT_HOME": str(tmp_path / "prefect-home"),
        "PREFECT_LOGGING_LEVEL": "INFO",
        "COLUMNS": "200",
    }


def _run_until(cmd: list[str], env: dict[str, str], pattern: re.Pattern[str]) -> list[str]:
    """Start `cmd` in its own process group; SIGKILL the group when a line matches."""
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: list[str] = []
    hit = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            lines.append(line)
            if pattern.search(line):
                hit.set()
                os.killpg(proc.pid, signal.SIGKILL)
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    deadline = time.monotonic() + 900
    while not hit.is_set() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if not hit.is_set():
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError("score never reached mid-stage:\n" + "".join(lines[-60:]))
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    return lines


@pytest.mark.e2e
@pytest.mark.slow
def test_kill_during_score_then_resume(
    e2e_config: Path, nightly_work: dict, prefect_harness: None, tmp_path: Path
) -> None:
    cfg = clone_config(e2e_config, tmp_path / "work")
    env = _env(tmp_path)
    # -v: Prefect's own lines (flow and task runs) are off the terminal by default
    killed_log = _run_until([CIBLAGE, "-v", "run", "-c", str(cfg)], env, MID_SCORE)
    settings = load_settings(cfg)
    assert lock_holder(settings.warehouse) is None  # the kernel released the dead run's lock
    assert latest_run_dir(settings) is None  # nothing half-published

    resumed = subprocess.run(
        [CIBLAGE, "-v", "run", "-c", str(cfg)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    out = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, out[-5000:]
    assert "for flow 'ingest'" in "".join(killed_log)
    assert "for flow 'ingest'" not in out  # the ingest subflow was not started again
    assert "for flow 'score'" in out

    with session(settings.warehouse, read_only=True) as con:
        rows = con.execute(
            "SELECT run_id, stage, status, params FROM run_ledger WHERE step = 'stage' "
            "ORDER BY started_at"
        ).fetchall()
    killed_id = rows[0][0]
    assert [(r[1], r[2]) for r in rows] == [
        ("ingest", "completed"),
        ("score", "interrupted"),
        ("ingest", "skipped"),
        ("score", "completed"),
        ("publish", "completed"),
    ]
    assert json.loads(rows[2][3])["reused_from"] == killed_id

    # the resumed run's results equal those of a clean, uninterrupted nightly run
    assert_frame_equal(comparable_scores(settings.warehouse), nightly_work["scores"])
    published = latest_run_dir(settings)
    assert published is not None
    assert_frame_equal(comparable_targets(published), nightly_work["targets"])
