"""Scenario worlds: inputs cut at the as-of date, truth after it, processes that differ.

A world that leaked one hire or offer dated after its as-of date would flatter every
model measured on it, so the cut is checked on the written files themselves.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest

from ciblage.sample.worlds import WORLDS, generate_world


def _rows(path: Path, sep: str = ";") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")), delimiter=sep))


@pytest.fixture(scope="module", params=["regime-seasonal-18-thin", "loglin-bursty-18-heavy"])
def world(request, tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp(request.param)
    info = generate_world(WORLDS[request.param].scaled(0.02), out)
    return out, info


def test_inputs_stop_before_as_of(world) -> None:
    out, info = world
    as_of, start = info["as_of"], info["history_start"]
    months = [r["mois"] for r in _rows(out / "hires" / "embauches_siret.csv")]
    assert months and start[:7] <= min(months) and max(months) < as_of[:7]
    offers = [
        o for p in (out / "offres").glob("*.json") for o in json.loads(p.read_text())["resultats"]
    ]
    offers += [json.loads(x) for p in (out / "offres").glob("*.jsonl") for x in p.open()]
    assert offers and all(o["dateCreation"] < as_of for o in offers)
    assert all(o["dateActualisation"] < as_of for o in offers)
    assert len(_rows(out / "truth" / "offres_siret_truth.csv")) == len(offers)
    for p in (out / "urssaf").glob("*.csv"):
        ends = [
            r.get("dernier_jour_du_trimestre") or r["Dernier jour du trimestre"] for r in _rows(p)
        ]
        assert ends and max(ends) < as_of
    with zipfile.ZipFile(out / "sirene" / "StockEtablissement_utf8.zip") as zf:
        text = zf.read(zf.namelist()[0]).decode("utf-8")
    etab = list(csv.DictReader(io.StringIO(text)))
    assert len(etab) == info["establishments_in_stock"]
    assert max(r["dateCreationEtablissement"] for r in etab) < as_of
    closed = [r["dateDebut"] for r in etab if r["etatAdministratifEtablissement"] == "F"]
    assert not closed or max(closed) < as_of


def test_truth_holds_the_next_six_months(world) -> None:
    out, info = world
    truth = _rows(out / "truth" / "hires_after_as_of.csv")
    assert sum(int(r["hires"]) for r in truth) == info["hires_after_as_of"] > 0
    rates = [float(r["true_rate"]) for r in truth]
    # the true rate is an expectation: same order of magnitude as what happened
    assert 0.5 < sum(rates) / info["hires_after_as_of"] < 2


def test_heavy_tail_draws_the_largest_bands(tmp_path) -> None:
    info = generate_world(WORLDS["regime-bursty-30-heavy"].scaled(0.05), tmp_path)
    with zipfile.ZipFile(tmp_path / "sirene" / "StockEtablissement_utf8.zip") as zf:
        text = zf.read(zf.namelist()[0]).decode("utf-8")
    bands = {r["trancheEffectifsEtablissement"] for r in csv.DictReader(io.StringIO(text))}
    assert bands & {"51", "52", "53"}
    assert info["max_hires_after_as_of_one_establishment"] > 50
