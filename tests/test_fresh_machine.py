"""`make test` must pass on a machine with only Python: the test command itself installs
the system browser the browser tests drive, and CI calls nothing but that command."""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "ensure_browser.sh"


def _recipe(target: str) -> list[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    m = re.search(rf"^{target}:.*\n((?:\t.*\n)+)", text, re.M)
    assert m, f"no {target} target"
    return [line.strip() for line in m.group(1).splitlines()]


def test_make_test_installs_the_browser_before_pytest() -> None:
    recipe = _recipe("test")
    steps = [i for i, line in enumerate(recipe) if "ensure_browser.sh" in line]
    pytest_step = next(i for i, line in enumerate(recipe) if "pytest" in line)
    assert steps and steps[0] < pytest_step
    assert os.access(SCRIPT, os.X_OK)


def test_ci_runs_only_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "apt-get" not in ci and "chromium-driver" not in ci
    assert re.search(r"^make test$", ci, re.M)


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="browser not installed")
def test_browser_present_is_a_fast_no_op() -> None:
    t0 = time.monotonic()
    done = subprocess.run([str(SCRIPT)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - t0 < 5
    assert "installing" not in done.stderr


def test_no_apt_get_refuses_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": str(tmp_path), "CIBLAGE_CHROMIUM": str(tmp_path / "no-chromium")}
    done = subprocess.run(
        ["/bin/bash", str(SCRIPT)], capture_output=True, text=True, env=env, timeout=30
    )
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "no apt-get" in done.stderr
