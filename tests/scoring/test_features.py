"""Features as of T use nothing dated T or later; scopes and label modes behave."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from scoring.features import (
    FEATURES,
    SIGNAL_MONTHS,
    SnapshotSpec,
    add_months,
    build_features,
    detect_label_mode,
    history_start,
    labelled_snapshot,
    snapshot_plan,
    training_snapshots,
)

T = date(2026, 5, 1)
SPEC = SnapshotSpec(horizon_months=6)


def _features(con: duckdb.DuckDBPyConnection, as_of: date = T, scope: str = "TRUE"):
    build_features(con, as_of, SPEC, "_f", scope)
    return con.execute("SELECT * FROM _f ORDER BY siret").df()


def _insert_future(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    """Hires, offers, DPAE quarters and establishments dated at or after `as_of`."""
    sirets = [r[0] for r in con.execute("SELECT siret FROM etablissement LIMIT 40").fetchall()]
    for i, s in enumerate(sirets):
        con.execute(
            "INSERT INTO hires_siret VALUES (?, ?, 'G1602', 50)",
            [s, date(as_of.year, as_of.month, 1)],
        )
        con.execute(
            "INSERT INTO offre (offre_id, date_creation, code_rome, nombre_postes, source_file) "
            "VALUES (?, ?, 'G1602', 3, 'future.json')",
            [f"FUT{i}", pd.Timestamp(as_of) + pd.Timedelta(hours=i)],
        )
        con.execute("INSERT INTO offre_siret_link VALUES (?, ?, 'siret', 1.0)", [f"FUT{i}", s])
    con.execute(
        "INSERT INTO dpae_aggregate (dataset, code_region, code_departement, secteur_code, "
        "secteur_label, date_fin_trimestre, dpae_brut) SELECT dataset, code_region, "
        "code_departement, secteur_code, secteur_label, ?, 1e6 FROM dpae_aggregate "
        "WHERE date_fin_trimestre = (SELECT max(date_fin_trimestre) FROM dpae_aggregate)",
        [as_of],
    )
    con.execute(
        "INSERT INTO etablissement (siret, siren, naf_code, code_departement, code_commune, "
        "date_creation, etat_administratif, tranche_effectifs) VALUES "
        "('99999999900018', '999999999', '5610A', '45', '45234', ?, 'A', '12')",
        [as_of],
    )


def test_features_ignore_rows_dated_at_or_after_as_of(synthetic_copy: Path) -> None:
    con = duckdb.connect(str(synthetic_copy))
    before = _features(con)
    assert len(before) > 100
    _insert_future(con, T)
    after = _features(con)
    pd.testing.assert_frame_equal(before, after)


def test_month_of_as_of_is_not_counted_when_as_of_is_mid_month(synthetic_copy: Path) -> None:
    """Hires are monthly: the month containing T is not fully elapsed, so it is excluded."""
    con = duckdb.connect(str(synthetic_copy))
    mid = date(2026, 5, 15)
    before = _features(con, mid)
    siret = before.siret.iloc[0]
    con.execute("INSERT INTO hires_siret VALUES (?, DATE '2026-05-01', 'G1602', 7)", [siret])
    after = _features(con, mid)
    pd.testing.assert_frame_equal(before, after)


def test_population_excludes_closed_before_and_created_after(synthetic_warehouse: Path) -> None:
    con = duckdb.connect(str(synthetic_warehouse), read_only=True)
    f = _features(con)
    closed_before = {
        r[0]
        for r in con.execute(
            "SELECT siret FROM etablissement WHERE date_fermeture < ? OR date_creation >= ?",
            [T, T],
        ).fetchall()
    }
    assert closed_before, "the synthetic warehouse should have closed establishments"
    assert not closed_before & set(f.siret)
    # closed after T: still in the population at T (closing is not a feature)
    closed_after = {
        r[0]
        for r in con.execute(
            "SELECT siret FROM etablissement WHERE date_fermeture >= ? AND date_creation < ?",
            [T, T],
        ).fetchall()
    }
    assert closed_after <= set(f.siret)


def test_every_model_feature_is_computed(synthetic_warehouse: Path) -> None:
    con = duckdb.connect(str(synthetic_warehouse), read_only=True)
    f = _features(con)
    assert set(FEATURES) <= set(f.columns)
    # past signal is consistent: windows are nested
    assert (f.hires_3m <= f.hires_6m).all() and (f.hires_6m <= f.hires_12m).all()
    assert (f.hires_12m <= f.hires_24m).all() and (f.offers_6m <= f.offers_12m).all()
    assert (f.siren_hires_12m >= f.hires_12m).all()
    assert f.dpae_dep_gs_per_etab.notna().mean() > 0.9
    assert f.naf_tension_pct.between(0, 100).all()


def test_territory_scope_restricts_rows_not_values(synthetic_warehouse: Path) -> None:
    con = duckdb.connect(str(synthetic_warehouse), read_only=True)
    everything = _features(con)
    dep = _features(con, scope="e.code_departement = '45'")
    assert set(dep.code_departement) == {"45"}
    expected = everything[everything.code_departement == "45"].reset_index(drop=True)
    pd.testing.assert_frame_equal(dep.reset_index(drop=True), expected)


def test_label_modes(synthetic_copy: Path) -> None:
    con = duckdb.connect(str(synthetic_copy))
    assert detect_label_mode(con) == "hires_siret"
    hires = labelled_snapshot(con, T, SPEC, "hires_siret")
    expected = con.execute(
        "SELECT sum(nombre_embauches) FROM hires_siret h JOIN _snap_features f USING (siret) "
        "WHERE mois >= ? AND mois < DATE '2026-11-01'",
        [T],
    ).fetchone()[0]
    assert hires.y.sum() == expected
    offres = labelled_snapshot(con, T, SPEC, "offres")
    assert 0 < offres.y.sum() < hires.y.sum()  # offers announce only part of the hires
    con.execute("DELETE FROM hires_siret")
    assert detect_label_mode(con) == "offres"


def test_training_snapshots_need_history() -> None:
    snaps = training_snapshots(date(2026, 11, 1), 6, 6, 10, earliest=date(2024, 1, 1))
    assert snaps[0] == date(2026, 5, 1)
    assert snaps[-1] == date(2025, 5, 1)
    assert all(a > b for a, b in zip(snaps, snaps[1:], strict=False))


def test_the_history_start_precedes_every_snapshot_a_training_builds() -> None:
    """The SIRENE load leaves out establishments closed before `history_start`: every
    snapshot of the final model, the back-test and the tuning must come after it, and it
    moves once a year (a move loads SIRENE again)."""
    for h, step, n in [(6, 6, 4), (3, 3, 2), (12, 6, 3), (6, 12, 1), (1, 1, 8)]:
        starts: list[date] = []
        for k in range(36):
            as_of = add_months(date(2025, 1, 1), k)
            start = history_start(as_of, h, step, n)
            plan = snapshot_plan(as_of, h, step, n, None)
            first = add_months(min(plan.dates()), -SIGNAL_MONTHS)  # features look back
            assert (start.month, start.day) == (1, 1)
            assert start <= first < date(start.year + 1, 1, 1)
            assert plan.final and plan.backtest and plan.tuning
            assert min(plan.dates()) == min(plan.tuning)
            starts.append(start)
        assert starts == sorted(starts) and len(set(starts)) <= 4  # once a year at most
    # the nightly's settings at the sample's as-of: 36 + 24 months back, from Jan 1
    assert history_start(date(2026, 11, 1), 6, 6, 4) == date(2021, 1, 1)
    assert min(snapshot_plan(date(2026, 11, 1), 6, 6, 4, None).dates()) == date(2023, 11, 1)


def test_the_signal_look_back_is_the_feature_sqls() -> None:
    """history_start subtracts SIGNAL_MONTHS for the hires and offers the features count:
    the SQL's windows must be that long."""
    from ciblage.warehouse import SQL_DIR

    sql = (SQL_DIR / "feature_etablissement.sql").read_text(encoding="utf-8")
    windows = {int(m) for m in re.findall(r"p\.t - INTERVAL (\d+) MONTH", sql)}
    assert max(windows) == SIGNAL_MONTHS


def test_features_without_offer_tables(synthetic_copy: Path) -> None:
    """A deployment that never loaded offers still gets features (offer signal zero)."""
    from scoring.features import ensure_optional_tables

    con = duckdb.connect(str(synthetic_copy))
    con.execute("DROP TABLE offre_siret_link")
    con.execute("DROP TABLE offre")
    assert ensure_optional_tables(con) == ["offre", "offre_siret_link"]
    f = _features(con)
    assert len(f) > 100 and (f.offers_24m == 0).all() and f.hires_24m.sum() > 0


def test_company_signal_sums_its_establishments(synthetic_warehouse: Path) -> None:
    """A company's features are the sums over its active establishments, whether it has
    one (its establishment's own signal, not grouped) or several."""
    con = duckdb.connect(str(synthetic_warehouse), read_only=True)
    f = _features(con)
    cols = {
        "hires_6m": "siren_hires_6m",
        "hires_12m": "siren_hires_12m",
        "hires_24m": "siren_hires_24m",
        "offers_6m": "siren_offers_6m",
        "offers_12m": "siren_offers_12m",
        "offers_24m": "siren_offers_24m",
    }
    sums = f.groupby("siren")[list(cols)].transform("sum")
    sizes = f.groupby("siren")["siret"].transform("count")
    assert (sizes == 1).any() and (sizes > 1).any()
    assert (f.siren_n_etab == sizes).all()
    for own, company in cols.items():
        assert np.allclose(f[company].astype(float), sums[own].astype(float)), company
    prev = f.groupby("siren")[["hires_prev_6m", "offers_prev_6m"]].transform("sum")
    expected = np.log1p(sums["hires_6m"]) - np.log1p(prev["hires_prev_6m"])
    assert np.allclose(f.siren_hires_trend, expected)
    expected = np.log1p(sums["offers_6m"].astype(float)) - np.log1p(
        prev["offers_prev_6m"].astype(float)
    )
    assert np.allclose(f.siren_offers_trend, expected)
