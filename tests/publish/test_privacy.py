"""Privacy: a non-diffusible establishment (statutDiffusion P on the establishment *or* on
its legal unit) never reaches a list, export, page, snapshot or match output.

Not marked `browser`: these checks read files and tables, and must run whatever marker
selection is made (`-m "not browser"` included).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from ciblage.warehouse import run_sql_file
from tests.publish import synthetic as syn
from tests.publish.browser import find_in_outputs

P_NEEDLES = [syn.P_ETAB, syn.P_UNITE, syn.P_ETAB[:9], syn.P_UNITE[:9]]

# (etat, establishment is_diffusible, its statut, legal unit (is_diffusible, statut) or
# None when the legal unit is not loaded, eligible)
CASES = {
    "active, both O": ("A", True, "O", (True, "O"), True),
    "no legal unit row": ("A", True, "O", None, True),
    "establishment P, legal unit O": ("A", False, "P", (True, "O"), False),
    "establishment P flagged diffusible": ("A", True, "P", (True, "O"), False),
    "establishment flagged non-diffusible, statut O": ("A", False, "O", (True, "O"), False),
    "establishment flag unknown": ("A", None, "O", (True, "O"), False),
    "establishment statut unknown": ("A", True, None, (True, "O"), True),
    "legal unit P": ("A", True, "O", (False, "P"), False),
    "legal unit P flagged diffusible": ("A", True, "O", (True, "P"), False),
    "legal unit flagged non-diffusible, statut O": ("A", True, "O", (False, "O"), False),
    "legal unit flag and statut unknown": ("A", True, "O", (None, None), True),
    "closed": ("F", True, "O", (True, "O"), False),
    "state unknown": (None, True, "O", (True, "O"), False),
}


def test_eligibility_rule() -> None:
    """sql/eligible_etablissement.sql on one establishment per case, all in one table."""
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE etablissement (siret VARCHAR, siren VARCHAR, naf_code VARCHAR, "
        "code_commune VARCHAR, code_departement VARCHAR, latitude DOUBLE, longitude DOUBLE, "
        "etat_administratif VARCHAR, is_diffusible BOOLEAN, statut_diffusion VARCHAR)"
    )
    con.execute(
        "CREATE TABLE unite_legale (siren VARCHAR, is_diffusible BOOLEAN, statut_diffusion VARCHAR)"
    )
    expected = {}
    for i, (etat, e_diff, e_statut, ul, eligible) in enumerate(CASES.values()):
        siren = f"{100000000 + i:09d}"
        siret = f"{siren}{i:05d}"
        con.execute(
            "INSERT INTO etablissement VALUES (?, ?, '5610A', '45234', '45', 47.9, 1.9, ?, ?, ?)",
            [siret, siren, etat, e_diff, e_statut],
        )
        if ul is not None:
            con.execute("INSERT INTO unite_legale VALUES (?, ?, ?)", [siren, *ul])
        expected[siret] = eligible
    run_sql_file(con, "eligible_etablissement", etablissement="etablissement")
    rows = con.execute(
        "SELECT siret, siren, naf_code, code_commune, latitude, longitude "
        "FROM eligible_etablissement ORDER BY siret"
    ).fetchall()
    got = {r[0] for r in rows}
    wrong = [
        name
        for name, siret in zip(CASES, expected, strict=True)
        if (siret in got) is not expected[siret]
    ]
    assert wrong == []
    assert all(r[1] == r[0][:9] and r[2:] == ("5610A", "45234", 47.9, 1.9) for r in rows)


def test_synthetic_warehouse_tests_the_establishment_rule(synth_warehouse: Path) -> None:
    """P_ETAB's legal unit is diffusible: only the establishment-level rule keeps it out
    (P_UNITE is the other way round: a diffusible establishment of a P legal unit)."""
    con = duckdb.connect(str(synth_warehouse), read_only=True)
    try:
        rows = dict(
            con.execute(
                "SELECT e.siret, (e.is_diffusible, e.statut_diffusion, ul.is_diffusible, "
                "ul.statut_diffusion) FROM etablissement e JOIN unite_legale ul USING (siren) "
                "WHERE e.siret IN (?, ?)",
                [syn.P_ETAB, syn.P_UNITE],
            ).fetchall()
        )
    finally:
        con.close()
    assert rows[syn.P_ETAB] == (False, "P", True, "O")
    assert rows[syn.P_UNITE] == (True, "O", False, "P")


@pytest.fixture(scope="module")
def run_dir(synth_published: dict) -> Path:
    return Path(synth_published["run_dir"])


def test_no_p_establishment_in_any_output(run_dir: Path) -> None:
    hits = find_in_outputs(run_dir, P_NEEDLES)
    assert hits == []
    # the scan does see sirets that are listed (it would catch a leak)
    assert find_in_outputs(run_dir, [syn.MANY])


def test_no_p_establishment_in_gate_snapshot(run_dir: Path) -> None:
    assert find_in_outputs(run_dir / "gates", P_NEEDLES) == []
    # the snapshot does hold the diffusible establishments of the same commune
    assert find_in_outputs(run_dir / "gates", [syn.MANY])
