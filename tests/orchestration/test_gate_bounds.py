"""Every publication gate at its bounds: refused just past, accepted just inside, both ways.

Fast (no flow; an in-memory warehouse for the snapshot): each test writes the two run
folders' snapshots the way `ciblage.gate_snapshot.write_snapshot` does and calls
`ciblage.gates.evaluate`, the function `publish_run` judges a run with.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from ciblage.config import ConfigError, load_settings
from ciblage.gate_snapshot import (
    POTENTIALS_FILE,
    SNAPSHOT_DIR,
    STATS_FILE,
    scope_departements,
    write_snapshot,
)
from ciblage.gates import GateCheck, GateConfig, GateReport, add_warnings, evaluate
from ciblage.publish.target_files import TARGETS_DIR

# one list file of the partitioned layout (ciblage/publish/target_files.py)
TARGETS_FILE = Path(TARGETS_DIR) / "45.parquet"


def _write(df: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    df.write_parquet(path)


CFG = GateConfig()


def _targets(lists: dict[tuple[str, str, str], list[str]]) -> pl.DataFrame:
    rows = [
        {
            "territory_level": level,
            "territory_code": code,
            "code_rome": rome,
            "rank": rank,
            "siret": siret,
        }
        for (level, code, rome), sirets in lists.items()
        for rank, siret in enumerate(sirets, start=1)
    ]
    return pl.DataFrame(
        rows,
        schema={
            "territory_level": pl.String,
            "territory_code": pl.String,
            "code_rome": pl.String,
            "rank": pl.Int64,
            "siret": pl.String,
        },
    )


def _run(
    root: Path,
    name: str,
    stats: dict[str, tuple[int, int]] | None = None,
    pots: dict[str, tuple[str, int]] | None = None,
    lists: dict[tuple[str, str, str], list[str]] | None = None,
    in_scope: list[str] | None = None,
) -> Path:
    """A run folder: counts per département (n_scored, n_high), potentials siret ->
    (département, potential), lists (level, code, rome) -> ranked sirets."""
    run = root / name
    (run / SNAPSHOT_DIR).mkdir(parents=True)
    stats = stats if stats is not None else {"45": (100, 30)}
    pl.DataFrame(
        {
            "code_departement": list(stats),
            "n_scored": [v[0] for v in stats.values()],
            "n_high": [v[1] for v in stats.values()],
            "in_scope": [in_scope is None or d in in_scope for d in stats],
        },
        schema={
            "code_departement": pl.String,
            "n_scored": pl.Int64,
            "n_high": pl.Int64,
            "in_scope": pl.Boolean,
        },
    ).write_parquet(run / SNAPSHOT_DIR / STATS_FILE)
    pots = pots or {}
    pl.DataFrame(
        {
            "siret": list(pots),
            "code_departement": [d for d, _ in pots.values()],
            "hiring_potential": [p for _, p in pots.values()],
        },
        schema={"siret": pl.String, "code_departement": pl.String, "hiring_potential": pl.Int32},
    ).write_parquet(run / SNAPSHOT_DIR / POTENTIALS_FILE)
    _write(
        _targets(lists or {("departement", "45", "M1607"): ["45000000000001"]}), run / TARGETS_FILE
    )
    return run


def _checks(checks: list[GateCheck], name: str) -> dict[str, GateCheck]:
    return {c.territory: c for c in checks if c.name == name}


# ---- scored and high-potential establishments: ratio current / previous -----------------


@pytest.mark.parametrize(
    ("now", "passed"),
    [(80, True), (79, False), (125, True), (126, False), (100, True), (0, False)],
)
def test_scored_count_ratio_bounds(tmp_path: Path, now: int, passed: bool) -> None:
    prev = _run(tmp_path, "prev", {"45": (100, 30), "18": (50, 10)})
    cur = _run(tmp_path, "cur", {"45": (now, 30), "18": (50, 10)})
    checks = _checks(evaluate(cur, prev, CFG), "scored_establishments")
    assert checks["dep:45"].passed is passed
    assert checks["dep:45"].value == pytest.approx(now / 100)
    assert checks["dep:45"].bound == "0.8 <= actuel/précédent <= 1.25"
    assert checks["dep:18"].passed  # the other département is judged on its own counts
    assert f"{now} maintenant contre 100" in checks["dep:45"].detail


@pytest.mark.parametrize(
    ("now", "passed"),
    [(50, True), (49, False), (200, True), (201, False), (100, True)],
)
def test_high_potential_ratio_bounds(tmp_path: Path, now: int, passed: bool) -> None:
    prev = _run(tmp_path, "prev", {"45": (1000, 100)})
    cur = _run(tmp_path, "cur", {"45": (1000, now)})
    checks = evaluate(cur, prev, CFG)
    high = _checks(checks, "high_potential_establishments")
    assert high["dep:45"].passed is passed
    assert high["dep:45"].value == pytest.approx(now / 100)
    assert _checks(checks, "scored_establishments")["dep:45"].passed


def test_ratio_bounds_come_from_the_config(tmp_path: Path) -> None:
    cfg = GateConfig(
        count_min_ratio=0.5, count_max_ratio=3.0, high_min_ratio=0.9, high_max_ratio=1.1
    )
    prev = _run(tmp_path, "prev", {"45": (100, 100)})
    cur = _run(tmp_path, "cur", {"45": (290, 89)})
    checks = evaluate(cur, prev, cfg)
    assert _checks(checks, "scored_establishments")["dep:45"].passed
    assert not _checks(checks, "high_potential_establishments")["dep:45"].passed
    cur2 = _run(tmp_path, "cur2", {"45": (49, 110)})
    checks = evaluate(cur2, prev, cfg)
    assert not _checks(checks, "scored_establishments")["dep:45"].passed
    assert _checks(checks, "high_potential_establishments")["dep:45"].passed


@pytest.mark.parametrize(("prev_n", "judged"), [(19, False), (20, True)])
def test_ratio_needs_a_baseline(tmp_path: Path, prev_n: int, judged: bool) -> None:
    prev = _run(tmp_path, "prev", {"45": (prev_n, prev_n)})
    cur = _run(tmp_path, "cur", {"45": (prev_n * 3, prev_n * 3)})
    checks = evaluate(cur, prev, CFG)
    assert ("dep:45" in _checks(checks, "scored_establishments")) is judged
    assert ("dep:45" in _checks(checks, "high_potential_establishments")) is judged
    assert all(c.passed for c in checks) is not judged


@pytest.mark.parametrize("min_baseline", [20, 1, 0])
def test_new_departement_is_not_judged(tmp_path: Path, min_baseline: int) -> None:
    """No ratio to a count of zero, even when every count is judged (min_baseline 0 used
    to divide by zero)."""
    prev = _run(tmp_path, "prev", {"45": (100, 0)})
    cur = _run(tmp_path, "cur", {"45": (100, 5), "18": (500, 200)})
    checks = evaluate(cur, prev, GateConfig(min_baseline=min_baseline))
    assert set(_checks(checks, "scored_establishments")) == {"dep:45"}
    assert "dep:18" not in _checks(checks, "high_potential_establishments")
    assert all(c.passed for c in checks)


# ---- a département published before and now gone --------------------------------------


def test_departement_disappeared_is_refused(tmp_path: Path) -> None:
    prev = _run(tmp_path, "prev", {"45": (100, 30), "18": (40, 10), "28": (19, 5)})
    cur = _run(tmp_path, "cur", {"45": (100, 30)})
    checks = evaluate(cur, prev, CFG)
    scored = _checks(checks, "scored_establishments")
    assert not scored["dep:18"].passed
    assert scored["dep:18"].value == 0
    assert "0 maintenant contre 40" in scored["dep:18"].detail
    assert "dep:28" not in scored  # below the baseline: too small to judge
    assert scored["dep:45"].passed


def test_departement_outside_a_territory_run_is_not_gone(tmp_path: Path) -> None:
    """A dep:45 rerun lists only 45: the other départements' absence is not a loss."""
    prev = _run(tmp_path, "prev", {"45": (100, 30), "18": (40, 10)})
    cur = _run(tmp_path, "cur", {"45": (100, 30), "28": (7, 1)}, in_scope=["45"])
    checks = evaluate(cur, prev, CFG)
    assert set(_checks(checks, "scored_establishments")) == {"dep:45"}
    assert all(c.passed for c in checks)


# ---- mean absolute change of hiring potential ------------------------------------------


def _pots(dep: str, values: list[int], start: int = 0) -> dict[str, tuple[str, int]]:
    return {f"{dep}{start + i:012d}": (dep, v) for i, v in enumerate(values)}


@pytest.mark.parametrize(
    ("deltas", "passed"),
    [
        ([15] * 20, True),
        ([-15] * 20, True),
        ([15] * 19 + [16], False),  # mean 15.05
        ([-15] * 19 + [-16], False),
        ([16, -16] * 10, False),  # changes in both directions do not cancel out
        ([15, -15] * 10, True),
    ],
)
def test_mean_abs_change_bounds(tmp_path: Path, deltas: list[int], passed: bool) -> None:
    base = [50] * len(deltas)
    prev = _run(tmp_path, "prev", pots=_pots("45", base) | _pots("18", base))
    cur = _run(
        tmp_path,
        "cur",
        pots=_pots("45", [b + d for b, d in zip(base, deltas, strict=True)]) | _pots("18", base),
    )
    checks = _checks(evaluate(cur, prev, CFG), "mean_abs_potential_change")
    assert checks["dep:45"].passed is passed
    assert checks["dep:45"].value == pytest.approx(sum(abs(d) for d in deltas) / len(deltas))
    assert checks["dep:18"].passed and checks["dep:18"].value == 0
    assert "sur 20 établissements" in checks["dep:45"].detail


def test_mean_abs_change_only_on_establishments_in_both_runs(tmp_path: Path) -> None:
    prev = _run(tmp_path, "prev", pots=_pots("45", [50] * 25))
    # 20 in common unchanged; 5 left and 5 new ones with very different potentials
    cur = _run(tmp_path, "cur", pots=_pots("45", [50] * 20) | _pots("45", [100] * 5, start=100))
    checks = _checks(evaluate(cur, prev, CFG), "mean_abs_potential_change")
    assert checks["dep:45"].passed and checks["dep:45"].value == 0


@pytest.mark.parametrize(("n", "judged"), [(19, False), (20, True)])
def test_mean_abs_change_needs_a_baseline(tmp_path: Path, n: int, judged: bool) -> None:
    prev = _run(tmp_path, "prev", pots=_pots("45", [0] * n))
    cur = _run(tmp_path, "cur", pots=_pots("45", [90] * n))
    checks = _checks(evaluate(cur, prev, CFG), "mean_abs_potential_change")
    assert ("dep:45" in checks) is judged
    if judged:
        assert not checks["dep:45"].passed


def test_mean_abs_change_bound_comes_from_the_config(tmp_path: Path) -> None:
    prev = _run(tmp_path, "prev", pots=_pots("45", [50] * 20))
    cur = _run(tmp_path, "cur", pots=_pots("45", [55] * 20))
    cfg = GateConfig(max_mean_abs_change=4.9)
    check = _checks(evaluate(cur, prev, cfg), "mean_abs_potential_change")["dep:45"]
    assert not check.passed and check.bound == "<= 4.9 points"


# ---- share of lists whose top 10 was entirely replaced ----------------------------------


def _lists(n_lists: int, n_replaced: int, *, shared_rank: int = 1, length: int = 12):
    """Previous and current lists of one territory: the first `n_replaced` lists share no
    company in their top 10; the others share the company at `shared_rank`."""
    prev, cur = {}, {}
    for k in range(n_lists):
        key = ("departement", "45", f"R{k:04d}")
        old = [f"45{k:04d}{i:08d}" for i in range(length)]
        new = [f"46{k:04d}{i:08d}" for i in range(length)]
        if k >= n_replaced:
            new[shared_rank - 1] = old[shared_rank - 1]
        prev[key], cur[key] = old, new
    return prev, cur


@pytest.mark.parametrize(
    ("n_lists", "n_replaced", "passed"),
    [(4, 2, True), (5, 3, False), (4, 0, True), (3, 3, False), (10, 5, True), (10, 6, False)],
)
def test_top10_replaced_share_bounds(
    tmp_path: Path, n_lists: int, n_replaced: int, passed: bool
) -> None:
    before, after = _lists(n_lists, n_replaced)
    prev = _run(tmp_path, "prev", lists=before)
    cur = _run(tmp_path, "cur", lists=after)
    check = _checks(evaluate(cur, prev, CFG), "top10_replaced_share")["departement:45"]
    assert check.passed is passed
    assert check.value == pytest.approx(n_replaced / n_lists)
    assert check.detail.startswith(f"{n_replaced} listes sur {n_lists}")


@pytest.mark.parametrize(("shared_rank", "replaced"), [(10, False), (11, True)])
def test_top10_is_the_first_ten_ranks(tmp_path: Path, shared_rank: int, replaced: bool) -> None:
    """A company kept at rank 10 keeps the list; one kept only at rank 11 does not."""
    before, after = _lists(3, 0, shared_rank=shared_rank)
    prev = _run(tmp_path, "prev", lists=before)
    cur = _run(tmp_path, "cur", lists=after)
    check = _checks(evaluate(cur, prev, CFG), "top10_replaced_share")["departement:45"]
    assert check.passed is not replaced


@pytest.mark.parametrize(("n_lists", "judged"), [(2, False), (3, True)])
def test_top10_needs_enough_common_lists(tmp_path: Path, n_lists: int, judged: bool) -> None:
    before, after = _lists(n_lists, n_lists)
    # a list only in the previous run is not a common list
    before[("departement", "45", "ZZZZZ")] = ["45999999999999"]
    prev = _run(tmp_path, "prev", lists=before)
    cur = _run(tmp_path, "cur", lists=after)
    checks = _checks(evaluate(cur, prev, CFG), "top10_replaced_share")
    assert ("departement:45" in checks) is judged


def test_top10_share_is_per_territory(tmp_path: Path) -> None:
    b45, a45 = _lists(4, 4)
    b18, a18 = _lists(4, 0)
    b18 = {("agence", "18", k[2]): v for k, v in b18.items()}
    a18 = {("agence", "18", k[2]): v for k, v in a18.items()}
    prev = _run(tmp_path, "prev", lists=b45 | b18)
    cur = _run(tmp_path, "cur", lists=a45 | a18)
    checks = _checks(evaluate(cur, prev, CFG), "top10_replaced_share")
    assert not checks["departement:45"].passed and checks["agence:18"].passed


def test_top10_compares_only_the_files_that_differ(tmp_path: Path) -> None:
    """A list file linked from the previous run (a rerun's partitions outside its scope)
    is that run's own file: its lists are not read again, and cannot be replaced."""
    import os

    b45, a45 = _lists(4, 0)
    b18, a18 = _lists(4, 4)
    b18 = {("departement", "18", k[2]): v for k, v in b18.items()}
    a18 = {("departement", "18", k[2]): v for k, v in a18.items()}
    prev = _run(tmp_path, "prev", lists=b45)
    cur = _run(tmp_path, "cur", lists=a45)
    _write(_targets(b18), prev / TARGETS_DIR / "18.parquet")
    os.link(prev / TARGETS_DIR / "18.parquet", cur / TARGETS_DIR / "18.parquet")
    checks = _checks(evaluate(cur, prev, CFG), "top10_replaced_share")
    assert set(checks) == {"departement:45"}
    # the same partition written again (not linked) with its lists replaced is judged
    (cur / TARGETS_DIR / "18.parquet").unlink()
    _write(_targets(a18), cur / TARGETS_DIR / "18.parquet")
    checks = _checks(evaluate(cur, prev, CFG), "top10_replaced_share")
    assert checks["departement:45"].passed and not checks["departement:18"].passed


# ---- what is judged at all ---------------------------------------------------------------


def test_first_publication_and_disabled_gates_only_check_outputs(tmp_path: Path) -> None:
    prev = _run(tmp_path, "prev", {"45": (100, 30)})
    cur = _run(tmp_path, "cur", {"45": (10, 3)})
    assert [c.name for c in evaluate(cur, None, CFG)] == ["outputs_complete"]
    assert [c.name for c in evaluate(cur, prev, GateConfig(enabled=False))] == ["outputs_complete"]
    assert not all(c.passed for c in evaluate(cur, prev, CFG))


def test_incomplete_outputs_stop_the_evaluation(tmp_path: Path) -> None:
    prev = _run(tmp_path, "prev", {"45": (100, 30)})
    cur = _run(tmp_path, "cur", {"45": (10, 3)})
    (cur / "agences").mkdir()
    (cur / "agences" / "a.xlsx.tmp").write_text("x")
    checks = evaluate(cur, prev, CFG)
    assert [(c.name, c.passed) for c in checks] == [("outputs_complete", False)]
    assert "a.xlsx.tmp" in checks[0].detail


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("empty", "sans aucune ligne"),
        ("columns", "sans les colonnes ['rank']"),
        ("unreadable", "illisible"),
        ("snapshot", "instantané des contrôles absent"),
        ("partial", "x.partial"),
    ],
)
def test_outputs_complete(tmp_path: Path, damage: str, message: str) -> None:
    run = _run(tmp_path, "cur")
    ok = evaluate(run, None, CFG)[0]
    assert ok.passed and ok.value == 1 and ok.detail == "1 lignes de listes"
    targets = run / TARGETS_FILE
    if damage == "empty":
        _write(_targets({}), targets)
    elif damage == "columns":
        pl.read_parquet(targets).drop("rank").write_parquet(targets)
    elif damage == "unreadable":
        targets.write_bytes(b"not parquet")
    elif damage == "snapshot":
        (run / SNAPSHOT_DIR / STATS_FILE).unlink()
    else:
        (run / "x.partial").write_text("")
    check = evaluate(run, None, CFG)[0]
    assert not check.passed and message in check.detail


def test_gate_config_reads_its_section(tmp_path: Path) -> None:
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text("[gates]\nhigh_potential_min = 80\ncount_max_ratio = 2\nenabled = false\n")
    g = GateConfig.from_settings(load_settings(cfg))
    assert (g.high_potential_min, g.count_max_ratio, g.enabled) == (80, 2.0, False)
    assert isinstance(g.count_max_ratio, float) and g.count_min_ratio == 0.8
    cfg.write_text("[gates]\ncount_max = 2\n")
    with pytest.raises(ConfigError, match="count_max.*connues : enabled"):
        GateConfig.from_settings(load_settings(cfg))


# ---- the run report ----------------------------------------------------------------------


def test_report_says_what_failed_and_round_trips(tmp_path: Path) -> None:
    checks = [
        GateCheck("scored_establishments", f"dep:{d}", 0.5, "0.8 <= r <= 1.25", False, "few")
        for d in range(10, 17)
    ] + [GateCheck("outputs_complete", "run", 3.0, "ok", True, "3 list rows")]
    rep = GateReport("r2", str(tmp_path), "r1", checks, published=False)
    assert not rep.passed and len(rep.failures) == 7
    assert rep.summary() == (
        " ; ".join(f"scored_establishments en échec pour dep:{d} : few" for d in range(10, 15))
        + " (+2 autre(s))"
    )
    rep.write(tmp_path)
    md = (tmp_path / "run_report.md").read_text()
    assert "NON PUBLIÉ : les listes précédentes (r1) restent publiées" in md
    assert "- contrôles : 8, en échec : 7" in md
    assert "| scored_establishments | dep:10 | 0.5 | 0.8 <= r <= 1.25 | few |" in md
    back = GateReport.read(tmp_path)
    assert back == rep
    ok = GateReport("r3", str(tmp_path), None, checks[-1:], published=True)
    assert ok.passed and ok.summary() == "1 contrôle(s) de publication réussi(s)"
    assert "\n- PUBLIÉ (`latest` pointe désormais sur ce run)\n" in ok.to_markdown()
    assert "comparé à : rien (première publication)" in ok.to_markdown()


def test_warnings_are_added_to_the_report(tmp_path: Path) -> None:
    assert add_warnings(tmp_path, ["x"]) is None  # no report yet
    GateReport("r1", str(tmp_path), None, [], published=True).write(tmp_path)
    assert add_warnings(tmp_path, []) is None
    add_warnings(tmp_path, ["dpae stale", "geoloc missing"])
    rep = add_warnings(tmp_path, ["dpae stale", "offres failed"])
    assert rep is not None
    assert rep.warnings == ["dpae stale", "geoloc missing", "offres failed"]
    md = (tmp_path / "run_report.md").read_text()
    assert "PUBLIÉ AVEC AVERTISSEMENTS" in md and "- avertissements sur les données : 3" in md
    assert "## Avertissements sur les données\n\n- dpae stale\n" in md
    assert GateReport.read(tmp_path).warnings == rep.warnings


# ---- the snapshot each run keeps -----------------------------------------------------------


def _warehouse() -> duckdb.DuckDBPyConnection:
    """45: 3 scored (potentials 69, 70, 90) + a P establishment and one of a P legal unit;
    18: 1 scored; one establishment without département."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE etablissement AS SELECT siret, left(siret, 9) AS siren, dep AS "
        "code_departement, d AS is_diffusible FROM (VALUES ('45000000100001', '45', true), "
        "('45000000200001', '45', true), ('45000000300001', '45', true), "
        "('45000000400001', '45', false), ('45000000500001', '45', true), "
        "('18000000100001', '18', true), ('99000000100001', NULL, true)) t(siret, dep, d)"
    )
    con.execute(
        "CREATE TABLE unite_legale AS SELECT * FROM (VALUES ('450000004', true), "
        "('450000005', false)) t(siren, is_diffusible)"
    )
    con.execute(
        "CREATE TABLE score_etablissement AS SELECT CAST(d AS DATE) AS as_of, siret, "
        "hiring_potential FROM (VALUES ('2026-11-01', '45000000100001', 69), "
        "('2026-11-01', '45000000200001', 70), ('2026-11-01', '45000000300001', 90), "
        "('2026-11-01', '45000000400001', 95), ('2026-11-01', '45000000500001', 95), "
        "('2026-11-01', '18000000100001', 10), ('2026-11-01', '99000000100001', 80), "
        "('2026-10-01', '18000000100001', 99)) t(d, siret, hiring_potential)"
    )
    return con


AS_OF = date(2026, 11, 1)
P_SIRETS = {"45000000400001", "45000000500001"}


def test_snapshot_counts_every_departement(tmp_path: Path) -> None:
    con = _warehouse()
    write_snapshot(con, tmp_path, AS_OF, "all", GateConfig(high_potential_min=70))
    stats = pl.read_parquet(tmp_path / SNAPSHOT_DIR / STATS_FILE).sort("code_departement")
    # counts include P establishments (they are scored, only never published)
    assert stats.rows() == [("18", 1, 0, True), ("45", 5, 4, True)]
    pots = pl.read_parquet(tmp_path / SNAPSHOT_DIR / POTENTIALS_FILE).sort("siret")
    assert pots["siret"].to_list() == [
        "18000000100001",
        "45000000100001",
        "45000000200001",
        "45000000300001",
    ]  # no P establishment, none of a P legal unit, none without département
    assert not P_SIRETS & set(pots["siret"])
    assert pots.filter(pl.col("siret") == "45000000200001")["hiring_potential"].item() == 70


def test_snapshot_of_a_territory_run(tmp_path: Path) -> None:
    con = _warehouse()
    write_snapshot(con, tmp_path, AS_OF, "dep:45", GateConfig(high_potential_min=71))
    stats = pl.read_parquet(tmp_path / SNAPSHOT_DIR / STATS_FILE).sort("code_departement")
    assert stats.rows() == [("18", 1, 0, False), ("45", 5, 3, True)]
    pots = pl.read_parquet(tmp_path / SNAPSHOT_DIR / POTENTIALS_FILE)
    assert set(pots["code_departement"]) == {"45"} and pots.height == 3


def test_territory_run_carries_the_other_counts_over(tmp_path: Path) -> None:
    """A rerun counts its départements again and keeps the published counts of the others
    (the lists it carries over), without counting all of France."""
    con = _warehouse()
    previous, rerun = tmp_path / "previous", tmp_path / "rerun"
    (previous / SNAPSHOT_DIR).mkdir(parents=True)
    pl.DataFrame(
        {"code_departement": ["18", "45", "2A"], "n_scored": [7, 9, 4], "n_high": [1, 2, 0]},
        schema_overrides={"n_scored": pl.Int64, "n_high": pl.Int64},
    ).with_columns(in_scope=pl.lit(True)).write_parquet(previous / SNAPSHOT_DIR / STATS_FILE)
    con.execute("DELETE FROM score_etablissement WHERE siret LIKE '18%'")  # never read again
    write_snapshot(con, rerun, AS_OF, "dep:45", GateConfig(high_potential_min=71), previous)
    stats = pl.read_parquet(rerun / SNAPSHOT_DIR / STATS_FILE)
    assert stats.rows() == [("18", 7, 1, False), ("2A", 4, 0, False), ("45", 5, 3, True)]
    assert stats.schema == pl.read_parquet(tmp_path / "previous" / SNAPSHOT_DIR / STATS_FILE).schema
    pots = pl.read_parquet(rerun / SNAPSHOT_DIR / POTENTIALS_FILE)
    assert set(pots["code_departement"]) == {"45"} and pots.height == 3
    # a nightly (all of France) counts everything, whatever the previous snapshot says
    write_snapshot(_warehouse(), rerun, AS_OF, "all", GateConfig(high_potential_min=71), previous)
    stats = pl.read_parquet(rerun / SNAPSHOT_DIR / STATS_FILE)
    assert stats.rows() == [("18", 1, 0, True), ("45", 5, 3, True)]


def test_scope_of_agency_and_bassin_runs(tmp_path: Path) -> None:
    con = _warehouse()
    assert scope_departements(con, tmp_path, "all") is None
    assert scope_departements(con, tmp_path, "dep:2A") == ["2A"]
    assert scope_departements(con, tmp_path, "agence:2420") == []  # nothing listed yet
    _write(
        _targets(
            {
                ("agence", "2420", "M1607"): ["45000000300001", "18000000100001"],
                ("agence", "2420", "K1302"): ["45000000100001", "99000000100001"],
            }
        ),
        tmp_path / TARGETS_FILE,
    )
    assert scope_departements(con, tmp_path, "agence:2420") == ["18", "45"]
    write_snapshot(con, tmp_path, AS_OF, "bassin:2420", CFG)
    stats = pl.read_parquet(tmp_path / SNAPSHOT_DIR / STATS_FILE)
    assert stats["in_scope"].all()


def test_a_rerun_that_lists_nothing_carries_every_count(tmp_path: Path) -> None:
    """An agency rerun whose lists came out empty: the run folder holds only carried
    lists, so it counts no département anew, and is not taken for a run without scores."""
    previous, rerun = tmp_path / "previous", tmp_path / "rerun"
    (previous / SNAPSHOT_DIR).mkdir(parents=True)
    pl.DataFrame(
        {"code_departement": ["18", "45"], "n_scored": [7, 9], "n_high": [1, 2]},
        schema_overrides={"n_scored": pl.Int64, "n_high": pl.Int64},
    ).with_columns(in_scope=pl.lit(True)).write_parquet(previous / SNAPSHOT_DIR / STATS_FILE)
    _write(_targets({("agence", "1801", "M1607"): ["18000000100001"]}), rerun / TARGETS_FILE)
    manifest = {
        "parts": {"45": {"file": "45.parquet", "rows": 1, "territories": [["agence", "1801", 1]]}},
        "scope": [["agence", "2420"]],
    }
    (rerun / TARGETS_DIR / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    assert scope_departements(_warehouse(), rerun, "agence:2420") == []
    write_snapshot(_warehouse(), rerun, AS_OF, "agence:2420", CFG, previous)
    stats = pl.read_parquet(rerun / SNAPSHOT_DIR / STATS_FILE)
    assert stats.rows() == [("18", 7, 1, False), ("45", 9, 2, False)]
    assert pl.read_parquet(rerun / SNAPSHOT_DIR / POTENTIALS_FILE).is_empty()
    with pytest.raises(ValueError, match="aucun établissement noté au 2026-12-01"):
        write_snapshot(_warehouse(), rerun, date(2026, 12, 1), "agence:2420", CFG, previous)


def test_snapshot_needs_scores(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="aucun établissement noté au 2026-12-01"):
        write_snapshot(_warehouse(), tmp_path, date(2026, 12, 1), "all", CFG)


def test_report_markdown_and_json_in_full(tmp_path: Path) -> None:
    checks = [
        GateCheck("scored_establishments", "dep:45", 0.5, "0.8 <= r <= 1.25", False, "few"),
        GateCheck("outputs_complete", "run", None, "readable", False, "targets.parquet missing"),
        GateCheck("top10_replaced_share", "agence:2420", 0.25, "<= 0.5", True, "ok"),
    ]
    rep = GateReport("r2", str(tmp_path), "r1", checks, published=True, created_at="t")
    rep.warnings = ["données DPAE périmées"]
    assert rep.to_markdown() == "\n".join(
        [
            "# Rapport du run r2",
            "",
            "- PUBLIÉ AVEC AVERTISSEMENTS (données dégradées ; `latest` pointe sur ce run)",
            "- comparé à : r1",
            "- contrôles : 3, en échec : 2",
            "- avertissements sur les données : 1",
            "",
            "## Avertissements sur les données",
            "",
            "- données DPAE périmées",
            "",
            "## Contrôles en échec",
            "",
            "| contrôle | territoire | valeur | seuil | détail |",
            "|---|---|---|---|---|",
            "| scored_establishments | dep:45 | 0.5 | 0.8 <= r <= 1.25 | few |",
            "| outputs_complete | run | n/d | readable | targets.parquet missing |",
            "",
        ]
    )
    assert rep.to_dict()["passed"] is False
    assert GateReport("r", "d", None, checks[2:]).to_dict()["passed"] is True
    rep.write(tmp_path)
    text = (tmp_path / "run_report.json").read_text(encoding="utf-8")
    assert '\n  "run_id": "r2",\n' in text  # indented for people reading it
    assert "données DPAE périmées" in text  # not \u00e9 escapes
    assert (tmp_path / "run_report.md").read_text(encoding="utf-8") == rep.to_markdown()
    clean = GateReport("r3", "d", "r2", checks[2:], published=True).to_markdown()
    assert clean.endswith("- avertissements sur les données : 0\n")


@pytest.mark.parametrize(("n", "more"), [(5, ""), (6, " (+1 autre(s))")])
def test_summary_names_five_failures(n: int, more: str) -> None:
    checks = [GateCheck("g", f"dep:{i}", 0.1, "b", False, "d") for i in range(n)]
    summary = GateReport("r", "d", None, checks).summary()
    assert summary == " ; ".join(f"g en échec pour dep:{i} : d" for i in range(5)) + more


def test_unknown_gate_options_are_named(tmp_path: Path) -> None:
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text("[gates]\nzeta = 1\nalpha = 2\n")
    with pytest.raises(ConfigError) as err:
        GateConfig.from_settings(load_settings(cfg))
    known = ", ".join(f.name for f in dataclasses.fields(GateConfig))
    assert f"option(s) inconnue(s) dans [gates] : alpha, zeta (connues : {known})" in str(err.value)


def test_snapshot_is_rewritten_in_a_new_or_existing_folder(tmp_path: Path) -> None:
    """A rerun writes the snapshot again in the same folder; the run folder may not exist."""
    con = _warehouse()
    run = tmp_path / "runs" / "r1"
    write_snapshot(con, run, AS_OF, "all", CFG)
    write_snapshot(con, run, AS_OF, "dep:18", CFG)
    assert pl.read_parquet(run / SNAPSHOT_DIR / POTENTIALS_FILE).height == 1


@pytest.mark.parametrize(("min_baseline", "judged"), [(1, True), (2, False)])
def test_ratio_baseline_of_one(tmp_path: Path, min_baseline: int, judged: bool) -> None:
    prev = _run(tmp_path, "prev", {"45": (1, 1)})
    cur = _run(tmp_path, "cur", {"45": (5, 1)})
    checks = evaluate(cur, prev, GateConfig(min_baseline=min_baseline))
    assert ("dep:45" in _checks(checks, "scored_establishments")) is judged


def test_vanished_departement_with_a_zero_lower_bound(tmp_path: Path) -> None:
    """Ratio 0 of a vanished département against [0, 1.25]: accepted, not a crash."""
    prev = _run(tmp_path, "prev", {"45": (100, 30), "18": (40, 10)})
    cur = _run(tmp_path, "cur", {"45": (100, 30)})
    checks = evaluate(cur, prev, GateConfig(count_min_ratio=0.0))
    gone = _checks(checks, "scored_establishments")["dep:18"]
    assert gone.passed and gone.value == 0


def test_top10_checks_in_territory_order(tmp_path: Path) -> None:
    before, after = {}, {}
    for level, code in (("departement", "18"), ("agence", "2420"), ("agence", "2401")):
        b, a = _lists(3, 0)
        before |= {(level, code, k[2]): v for k, v in b.items()}
        after |= {(level, code, k[2]): v for k, v in a.items()}
    prev = _run(tmp_path, "prev", lists=before)
    cur = _run(tmp_path, "cur", lists=after)
    order = [c.territory for c in evaluate(cur, prev, CFG) if c.name == "top10_replaced_share"]
    assert order == ["agence:2401", "agence:2420", "departement:18"]


def test_outputs_complete_in_detail(tmp_path: Path) -> None:
    run = _run(tmp_path, "cur")
    (run / TARGETS_FILE).unlink()
    (run / SNAPSHOT_DIR / STATS_FILE).unlink()
    for i in range(6):
        (run / f"f{i}.tmp").write_text("")
    check = evaluate(run, None, CFG)[0]
    assert (check.name, check.territory, check.value, check.passed) == (
        "outputs_complete",
        "run",
        0.0,
        False,
    )
    assert check.detail == (
        "listes (targets/) absentes ; "
        "fichiers inachevés : f0.tmp, f1.tmp, f2.tmp, f3.tmp, f4.tmp ; "
        "instantané des contrôles absent"
    )
    assert check.bound == "listes (targets/) lisibles, non vides ; aucun fichier inachevé"


def test_outputs_check_stays_first_when_compared(tmp_path: Path) -> None:
    prev = _run(tmp_path, "prev", {"45": (100, 30)}, pots=_pots("45", [50] * 20))
    cur = _run(tmp_path, "cur", {"45": (100, 30)}, pots=_pots("45", [50] * 20))
    names = [c.name for c in evaluate(cur, prev, CFG)]
    assert names[0] == "outputs_complete" and "scored_establishments" in names


def test_a_small_territory_does_not_stop_the_others(tmp_path: Path) -> None:
    """agence:2401 has too few common lists to be judged; departement:18 after it is."""
    b1, a1 = _lists(2, 2)
    b2, a2 = _lists(3, 3)
    before = {("agence", "2401", k[2]): v for k, v in b1.items()} | {
        ("departement", "18", k[2]): v for k, v in b2.items()
    }
    after = {("agence", "2401", k[2]): v for k, v in a1.items()} | {
        ("departement", "18", k[2]): v for k, v in a2.items()
    }
    prev = _run(tmp_path, "prev", lists=before)
    cur = _run(tmp_path, "cur", lists=after)
    checks = _checks(evaluate(cur, prev, CFG), "top10_replaced_share")
    assert set(checks) == {"departement:18"}
    assert not checks["departement:18"].passed and checks["departement:18"].bound == "<= 0.5"
