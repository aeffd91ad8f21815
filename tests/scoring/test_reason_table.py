"""Reasons computed for the establishments shown (scoring/reason_table.py): the codes the
ablation gives on the whole scored population, whatever the chunks and threads; the
model that wrote the scores, baseline included; a clear refusal when it cannot."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from scoring.calibration import potential
from scoring.errors import ReasonsUnavailable
from scoring.features import matrix
from scoring.model import load_model
from scoring.reason_table import ReasonSettings, build_reasons
from scoring.reasons import GROUPS, choose


def _copy(res: dict, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    warehouse = tmp_path / "w.duckdb"
    shutil.copy(res["settings"].warehouse, warehouse)
    return duckdb.connect(str(warehouse))


def _codes_on_everyone(con: duckdb.DuckDBPyConnection, model, label_mode: str, min_pot: int):
    """What the score stage computed before: `choose` on every scored establishment at
    once, with the model's own predictions."""
    df = con.execute(
        "SELECT f.*, s.hiring_potential AS pot FROM feature_etablissement f "
        "JOIN score_etablissement s USING (siret, as_of) ORDER BY siret"
    ).df()
    X = matrix(df)
    mu, _ = model.predict(X)
    ref = model.metadata["reference"]
    codes = choose(model, X, df, ref, label_mode, df["pot"].to_numpy() >= min_pot, mu)
    names = [name for name, _ in GROUPS]
    return {s: [names[c] for c in row if c >= 0] for s, row in zip(df["siret"], codes, strict=True)}


def _group_of(text: str) -> str:
    """The reason group a French sentence comes from (sql/etablissement_reason.sql)."""
    starts = {
        "a publié": "offres",
        "a recruté": "embauches",
        "son entreprise": "entreprise",
        "secteur qui embauche": "territoire",
        "secteur «": "secteur",
        "métiers du secteur": "tension",
        "le secteur recrute": "saison",
        "établissement": "profil",
    }
    return next(g for prefix, g in starts.items() if text.startswith(prefix))


def test_reasons_are_the_ablation_of_the_whole_population_in_any_chunks(
    scored_synthetic: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunks of 37 rows on three threads give the reasons of one pass over everyone, the
    shown establishments' feature rows copied or read in place."""
    import scoring.reason_table as rt

    res = scored_synthetic
    con = _copy(res, tmp_path)
    model = load_model(Path(res["path"]), res["sha256"])
    expected = _codes_on_everyone(con, model, res["label_mode"], 0)
    con.execute("CREATE TEMP TABLE shown AS SELECT siret FROM score_etablissement")
    tables = []
    # one chunk, features copied; chunks of 37 on three threads, features read in place
    for chunk, workers, copy_below in ((1_000_000, 1, 10**9), (37, 3, 0)):
        monkeypatch.setattr(rt, "CHUNK_ROWS", chunk)
        monkeypatch.setattr(rt, "COPY_FEATURES_BELOW", copy_below)
        n = build_reasons(con, "shown", res["settings"].as_of, ReasonSettings(0, workers))
        tables.append(con.execute("SELECT * FROM etablissement_reason ORDER BY siret").df())
        assert n == len(tables[-1]) == len(expected) > 37 * 3
    pd.testing.assert_frame_equal(tables[0], tables[1])
    got = {
        s: [_group_of(t) for t in r]
        for s, r in zip(tables[0].siret, tables[0].reasons, strict=True)
    }
    assert got == expected
    assert sum(g != ["profil"] for g in got.values()) > len(got) / 2


def test_below_the_reasons_threshold_only_the_profile(
    scored_synthetic: dict, tmp_path: Path
) -> None:
    """`min_potential_for_reasons`: no ablation below it, the factual profile only."""
    res = scored_synthetic
    con = _copy(res, tmp_path)
    con.execute("CREATE TEMP TABLE shown AS SELECT siret FROM score_etablissement")
    build_reasons(con, "shown", res["settings"].as_of, ReasonSettings(101, 2))
    reasons = con.execute("SELECT reasons FROM etablissement_reason").fetchall()
    assert reasons and all(
        all(t.startswith("établissement") for t in r) and len(r) <= 1 for (r,) in reasons
    )


def test_baseline_scores_get_the_baselines_reasons(scored_synthetic: dict, tmp_path: Path) -> None:
    """Scores written by the model's baseline alone (`#baseline`: the bound check at
    scoring) are explained by that baseline, not by the refused model."""
    res = scored_synthetic
    con = _copy(res, tmp_path)
    base = load_model(Path(res["path"]), res["sha256"]).as_baseline("test")
    assert base.regressor is None and base.metadata["model_id"].endswith("#baseline")
    # the scores as the score stage writes them with the baseline: its predictions, its id
    feats = con.execute("SELECT * FROM feature_etablissement").df()
    mu, p = base.predict(matrix(feats))
    con.register("base_scores", pd.DataFrame({"siret": feats.siret, "mu": mu, "pot": potential(p)}))
    con.execute(
        "UPDATE score_etablissement s SET model_id = ?, expected_hires = b.mu, "
        "hiring_potential = b.pot FROM base_scores b WHERE b.siret = s.siret",
        [base.metadata["model_id"]],
    )
    expected = _codes_on_everyone(con, base, res["label_mode"], 0)
    con.execute("CREATE TEMP TABLE shown AS SELECT siret FROM score_etablissement")
    build_reasons(con, "shown", res["settings"].as_of, ReasonSettings(0, 1))
    df = con.execute("SELECT * FROM etablissement_reason").df()
    got = {s: [_group_of(t) for t in r] for s, r in zip(df.siret, df.reasons, strict=True)}
    assert got == expected
    # the model's own reasons differ somewhere: the baseline was really used
    model = load_model(Path(res["path"]), res["sha256"])
    assert _codes_on_everyone(con, model, res["label_mode"], 0) != expected


def test_refused_without_the_model_or_the_features(
    scored_synthetic: dict, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """No silent list without reasons: a missing model or missing feature rows stop the
    list with a French message saying what to run, one line at the command line."""
    import typer

    from ciblage.cli_errors import friendly
    from ciblage.outcome import EXIT_NOT_PUBLISHED

    res = scored_synthetic
    con = _copy(res, tmp_path)
    day = res["settings"].as_of
    con.execute("CREATE TEMP TABLE shown AS SELECT siret FROM score_etablissement LIMIT 20")
    opts = ReasonSettings(0, 1)
    con.execute("CREATE TABLE registry_copy AS SELECT * FROM model_registry")
    con.execute("DELETE FROM model_registry")
    with pytest.raises(ReasonsUnavailable, match="introuvable"):
        build_reasons(con, "shown", day, opts)

    @friendly
    def command() -> None:
        build_reasons(con, "shown", day, opts)

    with pytest.raises(typer.Exit) as end:
        command()
    line = capsys.readouterr().err.strip()
    assert end.value.exit_code == EXIT_NOT_PUBLISHED
    assert line.startswith("erreur : modèle ") and "introuvable" in line and "\n" not in line
    con.execute("INSERT INTO model_registry SELECT * FROM registry_copy")
    con.execute("DELETE FROM feature_etablissement WHERE siret IN (SELECT siret FROM shown)")
    with pytest.raises(ReasonsUnavailable, match="20 établissements .* `ciblage score --as-of"):
        build_reasons(con, "shown", day, opts)
    con.execute("DROP TABLE feature_etablissement")
    with pytest.raises(ReasonsUnavailable, match="aucune caractéristique"):
        build_reasons(con, "shown", day, opts)
    # nothing shown: an empty table, no model or features needed
    con.execute("CREATE OR REPLACE TEMP TABLE shown AS SELECT '1' AS siret WHERE false")
    assert build_reasons(con, "shown", day, replace(opts, workers=2)) == 0
    assert con.execute("SELECT count(*) FROM etablissement_reason").fetchall() == [(0,)]


def test_scores_carry_the_establishments_departement(scored_synthetic: dict) -> None:
    """The score stage stores each establishment's département with its score (what a
    rerun selects its rows by), the one etablissement has."""
    con = duckdb.connect(str(scored_synthetic["settings"].warehouse), read_only=True)
    rows = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE s.code_departement IS NOT DISTINCT FROM "
        "e.code_departement), count(DISTINCT s.code_departement) "
        "FROM score_etablissement s JOIN etablissement e USING (siret)"
    ).fetchall()[0]
    con.close()
    assert rows[0] > 0 and rows[1] == rows[0] and rows[2] > 1


def test_a_reruns_departements_give_the_reasons_of_the_whole_tables(
    scored_synthetic: dict, tmp_path: Path
) -> None:
    """Read through a rerun's départements (`in_departements`), the scores and features
    give the reasons read from the whole tables, rows scored before the table had the
    column (NULL) included; the other départements' rows are not read."""
    from ciblage.warehouse import in_departements

    res = scored_synthetic
    con = _copy(res, tmp_path)
    day = res["settings"].as_of
    (dep,) = con.execute(
        "SELECT code_departement FROM score_etablissement GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    ).fetchall()[0]
    con.execute(
        "CREATE TEMP TABLE shown AS SELECT siret FROM score_etablissement "
        "WHERE code_departement = ?",
        [dep],
    )
    # half of them as if scored before the column existed
    con.execute(
        "UPDATE score_etablissement SET code_departement = NULL WHERE code_departement = ? "
        "AND hash(siret) % 2 = 0",
        [dep],
    )
    assert (
        con.execute(
            "SELECT count(*) FROM score_etablissement WHERE code_departement IS NULL"
        ).fetchall()[0][0]
        > 0
    )
    opts = ReasonSettings(0, 1)
    n_whole = build_reasons(con, "shown", day, opts)
    whole = con.execute("SELECT * FROM etablissement_reason ORDER BY siret").df()
    n_own = build_reasons(
        con,
        "shown",
        day,
        opts,
        scores=in_departements("score_etablissement", [dep]),
        features=in_departements("feature_etablissement", [dep]),
    )
    own = con.execute("SELECT * FROM etablissement_reason ORDER BY siret").df()
    assert n_own == n_whole == len(whole) > 10
    pd.testing.assert_frame_equal(whole, own)
    # another département's relations hold none of them: no reasons, not wrong ones
    other = "'" + dep + "x'"
    assert (
        build_reasons(
            con,
            "shown",
            day,
            opts,
            scores=f"(SELECT * FROM score_etablissement WHERE code_departement = {other})",
        )
        == 0
    )
