"""The nightly bench's generated inputs are files the pipeline ingests as they are.

`bench/nightly_national.py` measures the real `ciblage run` on generated national-size
files; its figures mean something only if every file goes through the pipeline's own
readers, row rules, quality checks and SQL builds like a real delivery. So the generator
runs at a tiny scale and every configured source is loaded with `load_source` and the
shipped specs (the quality gate on the whole table instead of per département: same
checks, a few seconds instead of minutes), then the second night's changed files are
loaded and every other source must be found unchanged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import pytest

from ciblage.config import PROJECT_ROOT, load_settings

if str(PROJECT_ROOT) not in sys.path:  # the bench package lives next to the sources
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.national import AS_OF, Volumes  # noqa: E402
from bench.nightly_national import link_tree, night_two, shipped_levels  # noqa: E402

SCALE = 0.0001  # 4,300 establishments, 2,500 hires a year, 400 offers
GENERATED = (
    "sirene_etablissement",
    "sirene_unite_legale",
    "sirene_geoloc",
    "dpae_departement",
    "dpae_region_na38",
    "hires_siret",
    "offres",
)


def _load_all(settings, run_id: str, as_of: dt.date) -> dict:
    from ciblage.ingest import load_source, prepare
    from ciblage.ingest.runner import open_warehouse, resolve_path, selected_specs

    specs = [dataclasses.replace(s, partition=None) for s in selected_specs()]
    registry = {s.name: s for s in specs}
    con = open_warehouse(settings)
    try:
        prepare(con)
        return {
            s.name: load_source(
                con,
                s,
                resolve_path(settings, s.name),
                run_id=run_id,
                as_of=as_of,
                registry=registry,
            )
            for s in specs
        }
    finally:
        con.close()


@pytest.mark.slow
def test_generated_inputs_load_through_the_pipeline(tmp_path: Path) -> None:
    from bench.national.inputs import ensure_inputs
    from ciblage.sample.scenario_eval import write_config

    vol = Volumes(SCALE)
    inputs, manifest = ensure_inputs(tmp_path, vol)
    assert not manifest["reused"]
    assert ensure_inputs(tmp_path, vol)[1]["reused"]  # a second bench run regenerates nothing
    live = tmp_path / "run" / "inputs"
    link_tree(inputs, live)
    settings = load_settings(
        write_config(live, tmp_path / "run", "hires_siret", shipped_levels()), as_of=str(AS_OF)
    )

    first = _load_all(settings, "night1", AS_OF)
    bad = {n: (r.status, r.message[:300]) for n, r in first.items() if r.status != "loaded"}
    assert not bad
    for name in GENERATED:
        r = first[name]
        assert r.rows_loaded > 0, name
        assert r.rows_quarantined <= 0.01 * r.rows_read, (name, r.rows_quarantined)
    assert first["sirene_etablissement"].rows_loaded == vol.establishments
    assert first["offres"].rows_loaded == manifest["offers_written"]
    hires = manifest["hires_rows"]
    assert first["hires_siret"].rows_loaded == hires
    # about 25 M hires a year nationally (rows merge several hires of one SIRET and month)
    assert 0.5 * vol.hires_per_month * 24 < hires <= 1.1 * vol.hires_per_month * 24

    changes = night_two(inputs, live, vol)
    assert changes["dpae_rows_revised"] > 0  # (one day of offers may be empty this small)
    second = _load_all(settings, "night2", AS_OF + dt.timedelta(days=1))
    changed = {n for n, r in second.items() if r.status == "loaded"}
    assert changed == {"offres", "dpae_departement"}
    assert {r.status for n, r in second.items() if n not in changed} == {"unchanged"}
    assert second["offres"].rows_loaded == manifest["offers_written"] + changes["new_offers"]


def test_the_machine_probe_times_both_workloads() -> None:
    """Each national measurement records how fast the machine ran (before the first
    command and after each), so that two runs are compared knowing whether the machine or
    the code changed."""
    from bench.national.probe import speed_probe
    from bench.nightly_national import probe_line

    probe = speed_probe(repeats=1)
    assert set(probe) == {"python_s", "duckdb_s"}
    assert all(0 < v < 60 for v in probe.values())
    line = probe_line({"before": probe, "after night 1": {"python_s": 0.5, "duckdb_s": 0.25}})
    assert f"before python {probe['python_s']:.3f} duckdb {probe['duckdb_s']:.3f}" in line
    assert line.endswith("after night 1 python 0.500 duckdb 0.250")
