"""Two real processes writing the warehouse: the second waits, says for whom, then runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from ciblage.lock import WarehouseLockTimeout, lock_holder, warehouse_lock
from ciblage.warehouse import session

# A writer: takes the lock, writes one row into the warehouse, keeps its connection open
# until `release` exists (so a second writer would collide inside DuckDB without the lock).
WRITER = """
import sys, time
from pathlib import Path
from ciblage.lock import warehouse_lock
from ciblage.warehouse import connect
wh, run_id, release = sys.argv[1], sys.argv[2], Path(sys.argv[3])
with warehouse_lock(wh, run_id=run_id, flow="test-writer", poll_s=0.1):
    con = connect(wh)
    con.execute("CREATE TABLE IF NOT EXISTS writes (run_id VARCHAR, written_at TIMESTAMP)")
    con.execute("INSERT INTO writes VALUES (?, now())", [run_id])
    print("holding", flush=True)
    while not release.exists():
        time.sleep(0.05)
    con.close()
print("done", flush=True)
"""


def _spawn(script: Path, wh: Path, run_id: str, release: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), str(wh), run_id, str(release)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _holding(p: subprocess.Popen[str]) -> None:
    line = p.stdout.readline().strip()
    if line != "holding":
        p.kill()
        raise AssertionError(f"writer did not start: {line!r} {p.communicate()[1]}")


@pytest.mark.slow
def test_second_writer_waits_for_the_first(tmp_path: Path) -> None:
    wh = tmp_path / "wh" / "ciblage.duckdb"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    rel_a, rel_b = tmp_path / "release-a", tmp_path / "release-b"
    rel_b.touch()  # B releases as soon as it has written
    a = _spawn(script, wh, "nightly-A", rel_a)
    try:
        _holding(a)
        holder = lock_holder(wh)
        assert holder and holder["run_id"] == "nightly-A" and holder["pid"] == a.pid
        # without the lock, a second writer collides inside DuckDB
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(wh))
        b = _spawn(script, wh, "rerun-B", rel_b)
        time.sleep(1.5)
        assert b.poll() is None, b.communicate()  # B is waiting, not failing
        rel_a.touch()
        out_a, err_a = a.communicate(timeout=60)
        out_b, err_b = b.communicate(timeout=60)
    finally:
        rel_a.touch()
        a.kill()
    assert a.returncode == 0, err_a
    assert b.returncode == 0, err_b
    assert "waiting for run nightly-A (test-writer, pid " + str(a.pid) in err_b
    assert "holding the warehouse lock" in err_b
    with session(wh, read_only=True) as con:
        rows = con.execute("SELECT run_id FROM writes ORDER BY written_at").fetchall()
    assert rows == [("nightly-A",), ("rerun-B",)]
    assert lock_holder(wh) is None


def test_lock_released_when_holder_is_killed(tmp_path: Path) -> None:
    wh = tmp_path / "ciblage.duckdb"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    a = _spawn(script, wh, "doomed", tmp_path / "never")
    _holding(a)
    a.kill()
    a.wait(timeout=30)
    assert lock_holder(wh) is None  # the kernel dropped the flock with the process
    with warehouse_lock(wh, run_id="next", flow="t", timeout_s=5):
        assert lock_holder(wh)["run_id"] == "next"


def test_lock_is_reentrant_and_times_out(tmp_path: Path) -> None:
    wh = tmp_path / "ciblage.duckdb"
    with warehouse_lock(wh, run_id="outer", flow="nightly"):
        with warehouse_lock(wh, run_id="inner", flow="score"):  # subflow, same process
            assert lock_holder(wh)["run_id"] == "outer"
        assert lock_holder(wh)["run_id"] == "outer"
    assert lock_holder(wh) is None

    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    a = _spawn(script, wh, "long-run", tmp_path / "never")
    try:
        _holding(a)
        messages: list[str] = []
        with (
            pytest.raises(WarehouseLockTimeout, match="long-run"),
            warehouse_lock(
                wh, run_id="x", flow="t", timeout_s=0.5, poll_s=0.1, log=messages.append
            ),  # noqa: E501
        ):
            pass
        assert messages and "waiting for run long-run" in messages[0]
        assert str(os.getpid()) not in messages[0]
    finally:
        a.kill()
        a.wait()
