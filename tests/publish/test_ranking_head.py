"""The cap and the final ranks read each list's head only (sql/target_rank.sql), and a
territory whose head may be too short is ranked on all its candidates: the lists must be
those of ranking every candidate, whatever the head's depth."""

from __future__ import annotations

import pytest

from scoring import ranking
from tests.publish.test_ranking import _rank


@pytest.mark.parametrize(("top_n", "max_lists"), [(1, 1), (2, 1), (3, 2), (50, 0)])
def test_lists_do_not_depend_on_the_heads_depth(synth_settings, monkeypatch, top_n, max_lists):
    out = {}
    for depth in (1, 2, ranking.HEAD_DEPTH, 10**6):  # 10**6: every candidate, no redo
        monkeypatch.setattr(ranking, "HEAD_DEPTH", depth)
        out[depth] = _rank(synth_settings, top_n=top_n, max_lists_per_company=max_lists)
    assert out[10**6].height > 0
    for depth, lists in out.items():
        assert lists.equals(out[10**6]), f"head depth {depth} x top_n changed the lists"


def test_a_short_head_is_redone(synth_settings, monkeypatch):
    """With heads of top_n rows and a cap of one list per company, lists lose head rows to
    their companies' better lists: their territories are ranked on every candidate, and
    the lists take companies from beyond the head."""
    monkeypatch.setattr(ranking, "HEAD_DEPTH", 1)
    lists = _rank(synth_settings, top_n=2, max_lists_per_company=1)
    heads = _rank(synth_settings, top_n=2, max_lists_per_company=0)  # the heads, uncapped
    keys = ["territory_level", "territory_code", "code_rome", "siret"]
    assert lists.join(heads, on=keys, how="anti").height > 0
