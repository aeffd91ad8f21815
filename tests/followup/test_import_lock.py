"""`ciblage promotions import` during a run waits for the warehouse lock like a rerun."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from ciblage.cli import app

from .ledgers import SIRET_A, promo_rows, write_csv

HOLDER = """
import sys, time
from ciblage.lock import warehouse_lock
with warehouse_lock(sys.argv[1], run_id="nightly-X", flow="nightly"):
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_import_waits_for_a_running_writer(tmp_path: Path) -> None:
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text('[paths]\nwarehouse = "w.duckdb"\n[run]\nas_of = "2026-11-01"\n')
    path = write_csv(
        tmp_path / "suivi.csv", promo_rows([("12/09/2026", "45A", SIRET_A, "M1607", "")])
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / "w.duckdb"), "3"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        t0 = time.monotonic()
        result = CliRunner().invoke(app, ["promotions", "import", str(path), "-c", str(cfg)])
        waited = time.monotonic() - t0
    finally:
        holder.wait(timeout=30)
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "en attente" in out and "nightly-X" in out
    assert "1 ajoutée(s)" in out
    assert waited >= 1.5
