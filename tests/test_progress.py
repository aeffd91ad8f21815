"""Progress display and terminal: log lines without a terminal, Prefect's logs off by default."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ciblage import progress
from ciblage.terminal import TerminalHandler

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _auto_live():
    yield
    progress.set_live(None)


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == progress.LOGGER_NAME]


def test_without_a_terminal_no_bar_but_a_line_every_ten_percent(caplog):
    caplog.set_level(logging.INFO, logger="ciblage")
    assert not progress.live_enabled()  # pytest captures stdout: not a TTY
    with progress.stage("publish", total=20, unit="agences", log_seconds=3600) as p:
        for i in range(20):
            assert not progress.display_active()
            p.advance(1, item=f"A{i:02d}")
    lines = _lines(caplog)
    assert lines[0] == "publish : 20 agences à traiter"
    steps = [line for line in lines[1:-1]]
    assert [s.split(" (")[1].split(" %")[0] for s in steps] == [str(p) for p in range(10, 100, 10)]
    assert steps[0].startswith("publish : 2/20 agences (10 %) en ")
    assert "reste ~" in steps[0] and steps[0].endswith("[A01]")
    assert lines[-1].startswith("publish : 20/20 agences en ")
    assert len(lines) == 11


def test_a_count_without_total_logs_by_time_and_at_the_end(caplog):
    caplog.set_level(logging.INFO, logger="ciblage")
    with progress.stage("ingest sirene", unit="lignes lues", log_seconds=0) as p:
        p.update(done=1_500_000)
        p.update(done=3_000_000)
        p.outcome = "loaded"
    lines = _lines(caplog)
    assert lines[0].startswith("ingest sirene : 1 500 000 lignes lues en ")
    assert lines[1].startswith("ingest sirene : 3 000 000 lignes lues en ")
    assert lines[-1].startswith("ingest sirene : 3 000 000 lignes lues en ")
    assert len(lines) == 3 and "reste" not in lines[-1] and lines[-1].endswith(" s, loaded")


def test_an_error_is_logged_as_interrupted_and_raised(caplog):
    caplog.set_level(logging.INFO, logger="ciblage")
    with pytest.raises(KeyError), progress.stage("score", total=4, unit="étapes") as p:
        p.advance(1)
        raise KeyError("x")
    last = caplog.records[-1]
    assert last.levelno == logging.WARNING
    assert last.getMessage().startswith("score : interrompu à 1/4 étapes après ")
    assert last.getMessage().endswith("(KeyError)")


def test_live_bar_hides_progress_lines_from_the_terminal_but_not_other_lines(capsys):
    handler = TerminalHandler(logging.INFO)
    logger = logging.getLogger("ciblage")
    logger.addHandler(handler)
    try:
        progress.set_live(True)
        with progress.stage("publish", total=2, unit="agences") as p:
            assert progress.display_active()
            p.advance(1)
            p.log("site écrit")
        assert not progress.display_active()
        progress.set_live(False)
        with progress.stage("score", total=1, unit="étapes") as p:
            p.advance(1)
    finally:
        logger.removeHandler(handler)
    err = capsys.readouterr().err
    assert "publish : site écrit" in err  # a stage's own note shows under the bar too
    assert "publish : 2 agences à traiter" not in err  # the bar says it
    assert "score : 1 étapes à traiter" in err and "score : 1/1 étapes en " in err


def test_durations_and_counts_in_french():
    assert progress.fmt_seconds(8.24) == "8,2 s"
    assert progress.fmt_seconds(42.4) == "42 s"
    assert progress.fmt_seconds(185) == "3 min 05 s"
    assert progress.fmt_count(1234567) == "1 234 567"


_PROBE = textwrap.dedent(
    """
    import logging, sys
    from ciblage.terminal import setup
    setup(sys.argv[1] == "verbose")
    from prefect import flow  # noqa: F401  (configures its logging from the environment)
    from prefect.logging import get_logger
    get_logger("prefect.flow_runs").info("PREFECT-LINE")
    logging.getLogger("ciblage.probe").info("CIBLAGE-LINE")
    logging.getLogger("pipelines.probe").warning("PIPELINE-WARNING")
    """
)


def _probe(mode: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_LOG")}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, mode],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_prefect_logs_off_the_terminal_by_default_ciblage_lines_stay():
    out = _probe("default")
    assert "PREFECT-LINE" not in out
    assert out.count("CIBLAGE-LINE") == 1
    assert "attention : PIPELINE-WARNING" in out


def test_verbose_shows_prefect_logs_and_ciblage_lines_once():
    out = _probe("verbose")
    assert "PREFECT-LINE" in out
    assert out.count("CIBLAGE-LINE") == 1
    assert out.count("PIPELINE-WARNING") == 1


def test_cli_verbose_flag_sets_prefect_console_level(tmp_path, monkeypatch):
    """`ciblage -v` shows Prefect's logs; without it they leave the terminal."""
    from typer.testing import CliRunner

    from ciblage.cli import app
    from ciblage.terminal import CONSOLE_LEVEL_ENV

    monkeypatch.delenv(CONSOLE_LEVEL_ENV, raising=False)
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text('[paths]\nwarehouse = "w.duckdb"\noutput = "out"\n', encoding="utf-8")
    CliRunner().invoke(app, ["status", "-c", str(cfg)])
    assert os.environ[CONSOLE_LEVEL_ENV] == "CRITICAL"
    CliRunner().invoke(app, ["-v", "status", "-c", str(cfg)])
    assert os.environ[CONSOLE_LEVEL_ENV] == "NOTSET"
    assert not progress.live_enabled()  # the logs say it all: no live bar with -v
    CliRunner().invoke(app, ["status", "-c", str(cfg)])
    for name in ("ciblage", "pipelines", "scoring"):  # handlers not piled up
        handlers = logging.getLogger(name).handlers
        assert sum(isinstance(h, TerminalHandler) for h in handlers) == 1
