"""Keeping the last K runs never deletes the published one."""

from __future__ import annotations

from datetime import date

from ciblage.runs import create_run_dir, latest_run_dir, list_runs, prune_runs, switch_latest


def test_prune_keeps_newest_and_published(settings_factory) -> None:
    s = settings_factory(runs="keep = 3")
    runs = [create_run_dir(s, f"2026110{i}T020000000000Z_asof20261101") for i in range(1, 8)]
    (s.output / "runs" / "not-a-run").mkdir()
    switch_latest(s, runs[1])
    removed = prune_runs(s)
    assert removed == [runs[0], runs[2], runs[3]]
    assert list_runs(s) == [runs[1], *runs[4:]]
    assert (s.output / "runs" / "not-a-run").is_dir()  # foreign folders are left alone
    assert latest_run_dir(s) == runs[1].resolve()
    assert prune_runs(s, keep=1) == runs[4:6]
    assert [p.name for p in list_runs(s)] == [runs[1].name, runs[6].name]


def test_default_keep_is_five(settings_factory) -> None:
    s = settings_factory()
    for i in range(7):
        create_run_dir(s, f"2026110{i + 1}T020000000000Z_asof{date(2026, 11, 1):%Y%m%d}")
    assert len(prune_runs(s)) == 2
    assert len(list_runs(s)) == 5


def test_pruned_folders_leave_through_the_trash(settings_factory) -> None:
    s = settings_factory(runs="keep = 1")
    runs = [create_run_dir(s, f"2026110{i}T020000000000Z_asof20261101") for i in range(1, 4)]
    (runs[0] / "site").mkdir()
    (runs[0] / "site" / "index.html").write_text("x")
    trash = s.output / "runs" / ".trash"
    trash.mkdir()
    (trash / "left-by-a-killed-process").mkdir()  # emptied by the next prune
    assert prune_runs(s) == runs[:2]
    assert list(trash.iterdir()) == []
    assert list_runs(s) == [runs[2]]
