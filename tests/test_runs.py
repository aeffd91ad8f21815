from datetime import date
from pathlib import Path

from ciblage.config import load_settings
from ciblage.runs import create_run_dir, latest_run_dir, new_run_id, switch_latest


def test_switch_latest_repoints_atomically(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[paths]\noutput = "out"\n')
    s = load_settings(cfg)
    assert latest_run_dir(s) is None
    a = create_run_dir(s, new_run_id(date(2026, 11, 1)))
    b = create_run_dir(s, new_run_id(date(2026, 11, 2)))
    assert a != b and a.name < b.name
    switch_latest(s, a)
    assert latest_run_dir(s) == a.resolve()
    switch_latest(s, b)
    assert latest_run_dir(s) == b.resolve()
    assert a.is_dir()  # the previous run stays until pruned
