"""A tiny hand-made SIRENE and a dozen offers, for the linking tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb

from .helpers import load_offres

# siren, siret, commune, naf, created, closed, enseigne, denomination_usuelle
# fmt: off
ESTABLISHMENTS = [
    ("552100554", "55210055400013", "45234", "1071C", "2001-01-01", None, None, None),
    ("552100554", "55210055400021", "45147", "1071C", "2010-01-01", None, "BOULANGERIE DU MAIL", None),  # noqa: E501
    ("732829320", "73282932000074", "45234", "4322A", "1999-01-01", None, None, None),
    ("732829320", "73282932000082", "45208", "4322A", "2015-01-01", None, None, None),
    ("404833048", "40483304800010", "45234", "5610A", "2005-01-01", "2025-06-30", None, None),
    ("404833048", "40483304800028", "45234", "5610A", "2025-07-01", None, None, None),
    ("356000000", "35600000049837", "45234", "5310Z", "1991-01-01", None, "LA POSTE", None),
    ("130005481", "13000548100010", "45234", "8810A", "2000-01-01", None, None, None),
]
# fmt: on
UNITS = [
    ("552100554", "BOULANGERIE MARTIN", None, None),
    ("732829320", "ELECTRICITE DUPONT ET FILS", None, None),
    ("404833048", None, "LEROY", "JULIE"),
    ("356000000", "LA POSTE", None, None),
    ("130005481", "ASSOCIATION AIDE A DOMICILE DU LOIRET", None, None),
]


def offer(oid: str, nom: str | None, commune: str = "45234", secteur: str = "10", **kw):
    o = {
        "id": oid,
        "dateCreation": kw.pop("date", "2026-03-02T09:00:00Z"),
        "lieuTravail": {"libelle": "45 - X", "commune": commune},
        "romeCode": "D1102",
        "entreprise": {k: v for k, v in (("nom", nom), ("siret", kw.pop("siret", None))) if v},
        "secteurActivite": secteur,
    }
    return o


OFFERS = [
    offer("exact", "Boulangerie Martin SARL"),  # name + commune + sector
    offer("enseigne", "boulangerie du mail", commune="45147"),  # enseigne, other town
    offer("siret", "whatever", siret="73282932000082", secteur="43"),
    offer("badkey", "Électricité Dupont & Fils", siret="73282932000083", secteur="43"),
    offer("person", "Julie Leroy", secteur="56"),  # natural person, reopened site
    offer("poste", None, siret="35600000049837", secteur="53"),  # La Poste numbering
    offer("noname", None),
    offer("blank", "SAS"),
    offer("nomatch", "Garage Bernard", secteur="45"),
    # Commune has no candidate: same département and division.
    offer("fallback", "ETS DUPONT ELECTRICITE", commune="45302", secteur="43"),
    offer("asso", "Asso. Aide à Domicile du Loiret", secteur="88"),
]


def linking_warehouse(
    tmp_path: Path, offers: list[dict[str, Any]] | None = None
) -> duckdb.DuckDBPyConnection:
    """The establishments and legal units above, and `offers` (default OFFERS) loaded."""
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute(
        """CREATE TABLE etablissement (siret VARCHAR, siren VARCHAR, code_commune VARCHAR,
        code_departement VARCHAR, naf_code VARCHAR, date_creation DATE, date_fermeture DATE,
        enseigne VARCHAR, denomination_usuelle VARCHAR, etat_administratif VARCHAR,
        tranche_effectifs VARCHAR)"""
    )
    for siren, siret, com, naf, created, closed, ens, den in ESTABLISHMENTS:
        con.execute(
            "INSERT INTO etablissement VALUES (?, ?, ?, left(?, 2), ?, ?, ?, ?, ?, ?, '11')",
            [siret, siren, com, com, naf, created, closed, ens, den, "F" if closed else "A"],
        )
    con.execute(
        "CREATE TABLE unite_legale (siren VARCHAR, denomination VARCHAR, nom VARCHAR,"
        " prenom VARCHAR)"
    )
    con.executemany("INSERT INTO unite_legale VALUES (?, ?, ?, ?)", UNITS)
    f = tmp_path / "offres.jsonl"
    rows = OFFERS if offers is None else offers
    f.write_text("\n".join(json.dumps(o) for o in rows), encoding="utf-8")
    load_offres(con, f)
    return con
