"""Company names, enseignes and street addresses, and the ways job offers misspell them.

Offers name the employer as a recruiter types it: legal-form words added or dropped,
case and accents changed, common abbreviations, sometimes a trade name instead of the
legal one, sometimes nothing. Entity resolution has to cope with exactly this.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from typing import TypeVar

import numpy as np

T = TypeVar("T")

SURNAMES = (
    "MARTIN",
    "BERNARD",
    "DUBOIS",
    "THOMAS",
    "ROBERT",
    "RICHARD",
    "PETIT",
    "DURAND",
    "LEROY",
    "MOREAU",
    "SIMON",
    "LAURENT",
    "LEFEBVRE",
    "MICHEL",
    "GARCIA",
    "DAVID",
    "BERTRAND",
    "ROUX",
    "VINCENT",
    "FOURNIER",
    "MOREL",
    "GIRARD",
    "ANDRE",
    "LEFEVRE",
    "MERCIER",
    "DUPONT",
    "LAMBERT",
    "BONNET",
    "FRANCOIS",
    "MARTINEZ",
    "LEGRAND",
    "GARNIER",
    "FAURE",
    "ROUSSEAU",
    "BLANC",
    "GUERIN",
    "MULLER",
    "HENRY",
    "ROUSSEL",
    "NICOLAS",
    "PERRIN",
    "MORIN",
    "MATHIEU",
    "CLEMENT",
    "GAUTHIER",
    "DUMONT",
    "LOPEZ",
    "FONTAINE",
    "CHEVALIER",
    "ROBIN",
    "SCHMITT",
    "WEBER",
    "KLEIN",
    "BECKER",
    "HOFFMANN",
    "MEYER",
    "LECOMTE",
    "LEMAIRE",
    "DUVAL",
    "HEBERT",
    "LEBRUN",
    "COLIN",
    "POIRIER",
    "RENARD",
)
FIRST_NAMES = {
    "M": (
        "JEAN",
        "PIERRE",
        "MICHEL",
        "PHILIPPE",
        "NICOLAS",
        "JULIEN",
        "THOMAS",
        "DAVID",
        "STEPHANE",
        "CHRISTOPHE",
        "LAURENT",
        "SEBASTIEN",
        "FREDERIC",
        "OLIVIER",
        "KEVIN",
    ),
    "F": (
        "MARIE",
        "NATHALIE",
        "ISABELLE",
        "SYLVIE",
        "CATHERINE",
        "SANDRINE",
        "CELINE",
        "AURELIE",
        "STEPHANIE",
        "JULIE",
        "CAROLINE",
        "EMILIE",
        "SOPHIE",
        "CHRISTINE",
    ),
}
# Trade words by NAF division: the first word of many French company names.
TRADE_WORDS: dict[str, tuple[str, ...]] = {
    "01": ("EARL", "GAEC", "SCEA", "DOMAINE"),
    "10": ("BOULANGERIE", "PATISSERIE", "BOUCHERIE"),
    "25": ("METALLERIE", "CHAUDRONNERIE", "MECANIQUE"),
    "28": ("INDUSTRIES", "MECANIQUE"),
    "41": ("CONSTRUCTIONS", "BATIMENT"),
    "43": ("ELECTRICITE", "PLOMBERIE", "MACONNERIE", "COUVERTURE", "MENUISERIE", "PEINTURE"),
    "45": ("GARAGE", "AUTOMOBILES", "CARROSSERIE"),
    "46": ("DISTRIBUTION", "NEGOCE"),
    "47": ("MAGASIN", "BOUTIQUE", "SUPERMARCHE", "PHARMACIE"),
    "49": ("TRANSPORTS", "TAXIS"),
    "52": ("LOGISTIQUE", "ENTREPOTS"),
    "55": ("HOTEL",),
    "56": ("RESTAURANT", "BRASSERIE", "CAFE", "PIZZERIA"),
    "62": ("INFORMATIQUE", "DIGITAL"),
    "68": ("IMMOBILIER", "AGENCE"),
    "69": ("CABINET", "EXPERTISE"),
    "71": ("BUREAU D'ETUDES",),
    "81": ("NETTOYAGE", "PROPRETE", "ESPACES VERTS"),
    "86": ("CABINET", "CLINIQUE", "CENTRE"),
    "87": ("EHPAD", "RESIDENCE"),
    "88": ("ASSOCIATION", "AIDE A DOMICILE"),
    "96": ("SALON",),
}
# Words that say "association" in a name, and what a company of another legal form says.
ASSOCIATION_WORDS = {"ASSOCIATION": "SERVICES A LA PERSONNE"}
ASSOCIATION_CATEGORIES = {"9210", "9220", "9221", "9222", "9223", "9224", "9230", "9240", "9260"}
GENERIC_WORDS = ("ETABLISSEMENTS", "SOCIETE", "GROUPE", "ENTREPRISE", "ATELIER")
PLACE_WORDS = {
    "45": ("DU LOIRET", "DE LA LOIRE", "ORLEANAIS", "DU GATINAIS"),
    "27": ("DE L'EURE", "NORMANDIE", "DU VEXIN", "DE LA SEINE"),
    "57": ("DE MOSELLE", "LORRAINE", "MESSIN", "DE LA SARRE"),
}
STREET_TYPES = ("RUE", "RUE", "RUE", "AV", "BD", "RTE", "CHE", "PL", "ALL", "IMP", "ZA")
STREET_NAMES = (
    "DE LA REPUBLIQUE",
    "JEAN JAURES",
    "DU GENERAL DE GAULLE",
    "VICTOR HUGO",
    "PASTEUR",
    "DES ACACIAS",
    "DE LA GARE",
    "DE L'EGLISE",
    "DU MOULIN",
    "DES ECOLES",
    "NATIONALE",
    "DE PARIS",
    "DES PRES",
    "DU STADE",
    "DU CHATEAU",
    "GAMBETTA",
    "FOCH",
    "DES TILLEULS",
    "DE LA LIBERATION",
    "DU 8 MAI 1945",
    "DES ARTISANS",
    "DE L'INDUSTRIE",
    "DES VIGNES",
)
# Legal-form word by categorieJuridique, as recruiters append it to names.
LEGAL_FORM_WORDS = {
    "5710": "SAS",
    "5499": "SARL",
    "5599": "SA",
    "5202": "SNC",
    "9220": "ASSOCIATION",
    "1000": "EI",
}
ABBREVIATIONS = {
    "ETABLISSEMENTS": "ETS",
    "SOCIETE": "STE",
    "SAINT": "ST",
    " ET ": " & ",
    "ASSOCIATION": "ASSO",
    "INDUSTRIES": "IND",
    "TRANSPORTS": "TRANSP",
}


def pick(rng: np.random.Generator, items: Sequence[T]) -> T:
    return items[int(rng.integers(len(items)))]


def _trade_word(rng: np.random.Generator, division: str, categorie_juridique: str) -> str:
    """A trade word that never contradicts the legal category (no "ASSOCIATION" SARL).

    Same random draws whatever the category, so that the rest of the sample is unchanged.
    """
    word = pick(rng, TRADE_WORDS.get(division, GENERIC_WORDS))
    if word in ASSOCIATION_WORDS and categorie_juridique not in ASSOCIATION_CATEGORIES:
        return ASSOCIATION_WORDS[word]
    return word


def company_name(
    rng: np.random.Generator,
    division: str,
    dep: str,
    commune_ncc: str,
    categorie_juridique: str,
) -> str:
    """A plausible denomination: trade word + surname or place, or initials-style names."""
    word = _trade_word(rng, division, categorie_juridique)
    r = rng.random()
    if r < 0.45:
        return f"{word} {pick(rng, SURNAMES)}"
    if r < 0.6:
        return f"{word} {pick(rng, SURNAMES)} ET FILS"
    if r < 0.8:
        return f"{word} {pick(rng, PLACE_WORDS[dep])}"
    if r < 0.9:
        return f"{word} DE {commune_ncc}"
    a, b = pick(rng, SURNAMES), pick(rng, SURNAMES)
    return f"{a[:3]}{b[:3]}" if rng.random() < 0.5 else f"{a} {b}"


def enseigne(
    rng: np.random.Generator, division: str, surname: str, categorie_juridique: str
) -> str:
    word = _trade_word(rng, division, categorie_juridique)
    return f"{word} {surname}" if rng.random() < 0.5 else f"{word} CHEZ {surname.title()}"


def street(rng: np.random.Generator) -> tuple[str, str, str]:
    """(numeroVoie, typeVoie, libelleVoie)."""
    return str(int(rng.integers(1, 180))), pick(rng, STREET_TYPES), pick(rng, STREET_NAMES)


def fold_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def offer_company_name(
    rng: np.random.Generator, legal_name: str, trade_name: str, categorie_juridique: str
) -> str | None:
    """The employer name as it appears in an offer, or None (recruiter left it empty)."""
    if rng.random() < 0.08:
        return None
    name = trade_name if trade_name and rng.random() < 0.35 else legal_name
    form = LEGAL_FORM_WORDS.get(categorie_juridique)
    r = rng.random()
    if form and r < 0.2:
        name = f"{name} {form}"
    elif form and r < 0.3:
        name = f"{form} {name}"
    if rng.random() < 0.2:
        for long, short in ABBREVIATIONS.items():
            name = name.replace(long, short)
    r = rng.random()
    if r < 0.25:
        name = name.title()
    elif r < 0.3:
        name = name.lower()
    if rng.random() < 0.1:  # a recruiter re-accenting a few common words
        name = name.replace("ELECTRICITE", "ÉLECTRICITÉ").replace("Societe", "Société")
    if rng.random() < 0.05:
        name = name.replace(" ", "-", 1)
    return name
