"""Publication gates on small real run folders: what passes, what blocks, what is said."""

from __future__ import annotations

import json

import pytest
from orch_fixtures import lists, scores, write_scores

from ciblage.config import ConfigError
from ciblage.ledger import BLOCKED, COMPLETED
from ciblage.runs import latest_run_dir, publish_run
from ciblage.warehouse import session


def _publish(settings, make_run, pots, targets=None):
    write_scores(settings, pots)
    run_dir = make_run(settings, lists(pots) if targets is None else targets)
    return run_dir, publish_run(settings, run_dir, latest_run_dir(settings))


def test_first_then_similar_run_are_published(settings_factory, make_run) -> None:
    s = settings_factory()
    first, rep1 = _publish(s, make_run, scores())
    assert rep1.published and rep1.previous_run_id is None
    assert latest_run_dir(s) == first.resolve()
    second, rep2 = _publish(s, make_run, scores(shift=1))
    assert rep2.published, rep2.summary()
    assert rep2.previous_run_id == first.name
    names = {c.name for c in rep2.checks}
    assert {"scored_establishments", "mean_abs_potential_change", "top10_replaced_share"} <= names
    assert latest_run_dir(s) == second.resolve()
    report = json.loads((second / "run_report.json").read_text())
    assert report["published"] and report["passed"]


def test_territory_losing_establishments_is_blocked(settings_factory, make_run) -> None:
    s = settings_factory()
    first, _ = _publish(s, make_run, scores())
    pots = scores()
    for siret in [k for k, (d, _) in pots.items() if d == "45"][:20]:  # 40 -> 20 in dep 45
        del pots[siret]
    second, rep = _publish(s, make_run, pots)
    assert not rep.published
    failed = {(c.name, c.territory) for c in rep.failures}
    assert ("scored_establishments", "dep:45") in failed
    assert not any(t == "dep:18" for _, t in failed)
    assert latest_run_dir(s) == first.resolve()  # previous lists stay published
    md = (second / "run_report.md").read_text()
    assert "NON PUBLIÉ" in md and "dep:45" in md and "scored_establishments" in md
    with session(s.warehouse) as con:
        status, message = con.execute(
            "SELECT status, message FROM run_ledger WHERE step = 'publication' "
            "ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
    assert status == BLOCKED and "dep:45" in message


def test_thresholds_come_from_config(settings_factory, make_run) -> None:
    s = settings_factory(gates="count_min_ratio = 0.4\nhigh_min_ratio = 0.1")
    _publish(s, make_run, scores())
    pots = scores()
    for siret in [k for k, (d, _) in pots.items() if d == "45"][:20]:
        del pots[siret]
    _, rep = _publish(s, make_run, pots)
    assert rep.published, rep.summary()


def test_potential_drift_is_blocked(settings_factory, make_run) -> None:
    s = settings_factory(gates="max_top10_replaced_share = 1.0")
    _publish(s, make_run, scores())
    _, rep = _publish(s, make_run, scores(shift=50))
    failed = {(c.name, c.territory) for c in rep.failures}
    assert ("mean_abs_potential_change", "dep:45") in failed
    assert ("mean_abs_potential_change", "dep:18") in failed
    assert not rep.published


def test_entirely_new_top10_is_blocked(settings_factory, make_run) -> None:
    s = settings_factory()
    pots = scores()
    _publish(s, make_run, pots)
    # same scores, but every list of dep 18 now shows other companies
    t = lists(pots)
    shifted = t.with_columns(
        siret=t["siret"].map_elements(lambda x: x[:2] + "9" + x[3:], return_dtype=t["siret"].dtype)
    )
    targets = t.filter(t["territory_code"] == "45").vstack(
        shifted.filter(shifted["territory_code"] == "18")
    )
    _, rep = _publish(s, make_run, pots, targets=targets)
    assert [(c.name, c.territory) for c in rep.failures] == [
        ("top10_replaced_share", "departement:18")
    ]
    assert rep.failures[0].value == pytest.approx(1.0)


def test_incomplete_run_is_never_published(settings_factory, make_run) -> None:
    s = settings_factory()
    first, _ = _publish(s, make_run, scores())
    write_scores(s, scores())
    broken = make_run(s, None)  # no list file: the run died before writing it
    (broken / "agences").mkdir()
    (broken / "agences" / "list.csv.partial").write_text("x")
    rep = publish_run(s, broken, latest_run_dir(s))
    assert not rep.published
    assert rep.failures[0].name == "outputs_complete"
    assert "listes (targets/) absentes" in rep.failures[0].detail
    assert "list.csv.partial" in rep.failures[0].detail
    assert latest_run_dir(s) == first.resolve()


def test_missing_scores_block_publication(settings_factory, make_run) -> None:
    s = settings_factory()
    pots = scores()
    write_scores(s, {})
    run_dir = make_run(s, lists(pots))
    rep = publish_run(s, run_dir, None)
    assert not rep.published
    assert {c.name for c in rep.failures} >= {"scores_snapshot"}


def test_unknown_gate_option_is_an_error(settings_factory, make_run) -> None:
    s = settings_factory(gates="max_mean_change = 3")
    write_scores(s, scores())
    with pytest.raises(ConfigError, match="max_mean_change"):
        publish_run(s, make_run(s, lists(scores())), None)


def test_publication_is_recorded_completed(settings_factory, make_run) -> None:
    s = settings_factory()
    _publish(s, make_run, scores())
    with session(s.warehouse) as con:
        (status,) = con.execute(
            "SELECT status FROM run_ledger WHERE step = 'publication'"
        ).fetchone()
    assert status == COMPLETED


def test_standalone_publication_is_recorded_under_the_run_folder_id(
    settings_factory, make_run
) -> None:
    s = settings_factory()
    run_dir, _ = _publish(s, make_run, scores())
    with session(s.warehouse) as con:
        (run_id,) = con.execute(
            "SELECT run_id FROM run_ledger WHERE step = 'publication'"
        ).fetchone()
    assert run_id == run_dir.name
