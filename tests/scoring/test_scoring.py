"""Scores, per-ROME scores, reasons and model card of a trained synthetic warehouse."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from scoring.calibration import STAR_CUTOFFS
from scoring.reasons import GROUPS


def _tables(res: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    con = duckdb.connect(str(res["settings"].warehouse), read_only=True)
    s = con.execute("SELECT * FROM score_etablissement").df()
    r = con.execute("SELECT * FROM score_etablissement_rome").df()
    f = con.execute(
        "SELECT f.*, d.libelle AS dep_libelle, n.grand_secteur FROM feature_etablissement f "
        "LEFT JOIN ref_departement d USING (code_departement) LEFT JOIN ref_naf n USING (naf_code)"
    ).df()
    con.close()
    return s, r, f


def _all_reasons(res: dict) -> pd.DataFrame:
    """Every scored establishment's reasons, computed as for the lists
    (scoring/reason_table.py)."""
    from scoring.reason_table import ReasonSettings, build_reasons

    settings = res["settings"]
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    con.execute("CREATE TEMP TABLE shown AS SELECT siret FROM score_etablissement")
    build_reasons(con, "shown", settings.as_of, ReasonSettings.from_settings(settings))
    out = con.execute("SELECT * FROM etablissement_reason").df()
    con.close()
    return out


@pytest.mark.parametrize("fixture", ["scored_synthetic", "scored_synthetic_offres"])
def test_both_label_modes_write_every_table(fixture: str, request: pytest.FixtureRequest) -> None:
    res = request.getfixturevalue(fixture)
    expected = "hires_siret" if fixture == "scored_synthetic" else "offres"
    assert res["label_mode"] == expected
    s, r, f = _tables(res)
    assert len(s) == len(f) == res["rows"]["score_etablissement"] > 100
    assert set(s.label_mode) == {expected}
    assert s.siret.is_unique
    assert s.hiring_potential.between(0, 100).all() and s.stars.between(1, 5).all()
    assert ((s.p_hire >= 0) & (s.p_hire <= 1)).all() and (s.expected_hires >= 0).all()
    cut = np.searchsorted(np.array(STAR_CUTOFFS), s.hiring_potential, side="right") + 1
    assert (cut == s.stars).all()
    # a trade at potential 0 is never shown: not stored (scoring.scorer.MIN_STORED_POTENTIAL)
    assert r.hiring_potential.between(1, 100).all() and r.stars.between(1, 5).all()
    # per-ROME potentials never exceed the establishment's, expected hires add up at most
    m = r.merge(s[["siret", "hiring_potential", "expected_hires"]], on="siret", suffixes=("", "_e"))
    assert (m.hiring_potential <= m.hiring_potential_e).all()
    sums = m.groupby("siret").agg(e=("expected_hires", "sum"), t=("expected_hires_e", "first"))
    assert (sums.e <= sums.t * (1 + 1e-9)).all()
    con = duckdb.connect(str(res["settings"].warehouse), read_only=True)
    reg = con.execute("SELECT * FROM model_registry").df()
    assert list(reg.model_id) == [res["model_id"]] and reg.label_mode[0] == expected
    card = Path(res["model_card"]).read_text(encoding="utf-8")
    assert ("offers are not hires" in card) == (expected == "offres")
    for png in ("calibration.png", "precision_at_k.png", "permutation_importance.png"):
        assert (
            res["settings"].output / "model_cards" / res["model_id"] / png
        ).stat().st_size > 1000


def test_backtest_reports_model_and_baselines(scored_synthetic: dict) -> None:
    bt = scored_synthetic["backtest"]
    rk = bt["ranking"]
    assert rk["groups"] > 5
    for m in ("model", "headcount", "past_12m"):
        assert 0 <= rk[m]["precision_at_10"] <= 1 and 0 <= rk[m]["ndcg_at_10"] <= 1
    # the synthetic process hires in proportion to size and a persistent effect: the model
    # must rank better than size alone
    assert rk["model"]["precision_at_10"] > rk["headcount"]["precision_at_10"]
    assert bt["auc_pr"]["model"] > bt["auc_pr"]["headcount"]
    assert bt["poisson_deviance"] < bt["poisson_deviance_null"]


NUM = r"(\d+)"


def _check_reason(text: str, row: pd.Series, label_mode: str) -> None:
    """Each sentence must quote the feature values it is built from."""
    if m := re.fullmatch(rf"a publié {NUM} offres? en (6|12) mois", text):
        assert int(m[1]) == row[f"offers_{m[2]}m"] >= 1
    elif m := re.fullmatch(rf"a recruté {NUM} personnes? sur les 12 derniers mois", text):
        assert int(m[1]) == row.hires_12m >= 1
    elif m := re.fullmatch(
        rf"son entreprise \({NUM} établissements\) a (recruté|publié) {NUM} .*", text
    ):
        assert int(m[1]) == row.siren_n_etab >= 2
        other = (
            row.siren_hires_12m - row.hires_12m
            if m[2] == "recruté"
            else row.siren_offers_12m - row.offers_12m
        )
        assert int(m[3]) == other >= 1
    elif m := re.fullmatch(rf"secteur qui embauche \+{NUM} % sur un an \((.+), (.+)\)", text):
        assert int(m[1]) == round(row.dpae_dep_gs_trend * 100) >= 1
        assert m[2] == row.grand_secteur and m[3] == row.dep_libelle
    elif m := re.fullmatch(rf"secteur qui embauche \+{NUM} % sur un an dans la région .*", text):
        assert int(m[1]) == round(row.dpae_reg_a38_trend * 100) >= 1
    elif m := re.fullmatch(r"secteur « .+ » : ([\d,]+) (embauches|offres) par .*", text):
        rate = row.naf_hires_rate_12m if m[2] == "embauches" else row.naf_offers_rate_12m
        assert float(m[1].replace(",", ".")) == pytest.approx(rate, abs=0.051)
        assert (m[2] == "embauches") == (label_mode == "hires_siret")
    elif m := re.fullmatch(rf"métiers du secteur en tension : {NUM} % .*", text):
        assert int(m[1]) == round(row.naf_tension_pct) >= 50
    elif m := re.fullmatch(rf"le secteur recrute davantage à cette période : \+{NUM} % .*", text):
        ratio = (
            row.naf_hires_season_ratio
            if label_mode == "hires_siret"
            else row.naf_offers_season_ratio
        )
        assert int(m[1]) == round((ratio - 1) * 100) >= 5
    elif text.startswith("établissement"):
        bands = {0: "sans salarié", 4: "de 10 à 19 salariés", 5: "de 20 à 49 salariés"}
        if row.effectif_rank in bands:
            assert bands[int(row.effectif_rank)] in text
        if m := re.search(rf"créé il y a {NUM} ans?", text):
            assert int(m[1]) == int(row.age_years) >= 1
        elif "moins d'un an" in text:
            assert row.age_years < 1
    else:
        raise AssertionError(f"unknown reason template: {text!r}")


@pytest.mark.parametrize("fixture", ["scored_synthetic", "scored_synthetic_offres"])
def test_reasons_are_consistent_with_feature_values(
    fixture: str, request: pytest.FixtureRequest
) -> None:
    res = request.getfixturevalue(fixture)
    s, _, f = _tables(res)
    reasons = _all_reasons(res)
    assert len(reasons) == len(s)
    merged = s.merge(reasons, on="siret").merge(f, on="siret")
    n_model_reasons = 0
    for row in merged.itertuples(index=False):
        reasons = list(row.reasons)
        assert 1 <= len(reasons) <= 3, row.siret
        assert len(set(reasons)) == len(reasons)
        for text in reasons:
            _check_reason(text, pd.Series(row._asdict()), res["label_mode"])
            n_model_reasons += not text.startswith("établissement")
    assert n_model_reasons > len(merged) / 2
    assert len(GROUPS) == 8


def test_high_potential_establishments_hired_before(scored_synthetic: dict) -> None:
    s, _, f = _tables(scored_synthetic)
    m = s.merge(f, on="siret")
    assert m.stars.min() < m.stars.max()
    top = m[m.stars == m.stars.max()]
    low = m[m.stars == m.stars.min()]
    assert top.hires_12m.mean() > low.hires_12m.mean()
