"""Job offers as the Offres d'emploi API v2 returns them, drawn from the simulated hires.

A share of each establishment's hires is published (sector, size and an establishment
propensity decide it), a few published offers lead to no hire, and the employer name and
SIRET are as unreliable as in real offers. The true establishment of each offer is kept
apart (`truth`) to measure entity resolution.
"""

from __future__ import annotations

import datetime as dt
import string
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np

from ciblage.sample import names
from ciblage.sample.contacts import draw_contact
from ciblage.sample.establishments import ALL_BANDS, Establishment
from ciblage.sample.hiring import HiringResult, month_start, sector_group
from ciblage.sample.luhn import break_key
from ciblage.sample.referentials import Referentials

PARIS = ZoneInfo("Europe/Paris")
LAST_SEEN = dt.datetime(2026, 10, 31, 23, 0, tzinfo=PARIS)  # the offers' extraction time
# Share of hires published as offers, by sector group (times size and propensity).
PUBLISH_RATE = {
    "agriculture": 0.14,
    "industrie": 0.24,
    "construction": 0.2,
    "commerce": 0.24,
    "transport": 0.26,
    "hotellerie_restauration": 0.28,
    "sante_social": 0.32,
    "enseignement": 0.2,
    "services": 0.22,
}
SIZE_PUBLISH = {"small": 0.8, "medium": 1.0, "large": 1.25}
UNFILLED_RATE = 0.1  # offers without a hire, per expected hire x publish rate
SIRET_SHOWN = 0.25  # offers carrying entreprise.siret ...
SIRET_WRONG = 0.06  # ... of which this share is mistyped (bad Luhn key)
NO_ESTAB_TRANCHE = 0.15  # offers without trancheEffectifEtab
# Where the job is is not always where the establishment is registered: work in another
# commune of the département (a client site, a new shop), or only the département given.
OTHER_COMMUNE, DEPARTEMENT_ONLY = 0.08, 0.03


@dataclass(frozen=True)
class Posting:
    """How employers publish: the defaults are the shipped sample's.

    publish_scale multiplies every publication rate (a world where few hires are
    advertised, or many), siret_shown is the share of offers carrying entreprise.siret,
    last_seen the extraction time (no update after it).
    """

    publish_scale: float = 1.0
    siret_shown: float = SIRET_SHOWN
    last_seen: dt.datetime = LAST_SEEN


@dataclass
class Offer:
    offer_id: str
    siret: str
    created: dt.datetime
    payload: dict


def _size_class(band: str) -> str:
    rank = ALL_BANDS.index(band)
    return (
        "small"
        if rank <= ALL_BANDS.index("03")
        else "medium"
        if rank <= ALL_BANDS.index("12")
        else "large"
    )


def _offer_id(rng: np.random.Generator, t: int, used: set[str]) -> str:
    while True:
        letters = "".join(string.ascii_uppercase[int(x)] for x in rng.integers(0, 26, 4))
        oid = f"{(100 + t * 12 + int(rng.integers(0, 12))) % 1000:03d}{letters}"
        if oid not in used:
            used.add(oid)
            return oid


def _tranche_label(ref: Referentials, band: str) -> str:
    if band in ("NN", "00"):
        return "0 salarié"
    return ref.tranches[band]


def _contract(rng: np.random.Generator, cdi: bool) -> tuple[str, str, str]:
    """(typeContrat, typeContratLibelle, natureContrat)."""
    r = rng.random()
    nature = (
        "Contrat travail"
        if r < 0.88
        else "Contrat apprentissage"
        if r < 0.95
        else "Cont. professionnalisation"
    )
    if cdi and nature == "Contrat travail":
        return "CDI", "Contrat à durée indéterminée", nature
    if rng.random() < 0.12 and nature == "Contrat travail":
        months = int(rng.choice([1, 2, 3, 6]))
        return "MIS", f"Mission intérimaire - {months} Mois", nature
    months = int(rng.choice([2, 3, 6, 6, 9, 12, 12, 18, 24]))
    return "CDD", f"Contrat à durée déterminée - {months} Mois", nature


def _payload(
    rng: np.random.Generator,
    ref: Referentials,
    e: Establishment,
    oid: str,
    created: dt.datetime,
    rome: str,
    n_postes: int,
    cdi: bool,
    posting: Posting,
) -> dict:
    appellations = ref.appellations.get(rome) or [ref.rome_labels[rome]]
    appellation = names.pick(rng, appellations)
    type_contrat, type_libelle, nature = _contract(rng, cdi)
    exp = names.pick(rng, ("D", "D", "E", "S"))
    entreprise: dict = {}
    nom = names.offer_company_name(rng, e.legal_name, e.enseigne, e.unit.categorie_juridique)
    if nom is not None and (e.diffusible or rng.random() < 0.3):
        entreprise["nom"] = nom
    if rng.random() < posting.siret_shown:
        entreprise["siret"] = break_key(e.siret) if rng.random() < SIRET_WRONG else e.siret
    entreprise["entrepriseAdaptee"] = bool(
        e.unit.categorie_juridique == "9220" and rng.random() < 0.05
    )
    updated = created + dt.timedelta(days=int(rng.integers(0, 20)), hours=int(rng.integers(0, 8)))
    # files are extracted before the as-of date
    updated = min(updated, max(created, posting.last_seen))
    offer = {
        "id": oid,
        "intitule": appellation,
        "dateCreation": created.isoformat(),
        "dateActualisation": updated.isoformat(),
        "lieuTravail": _lieu_travail(rng, ref, e),
        "romeCode": rome,
        "romeLibelle": ref.rome_labels[rome],
        "appellationlibelle": appellation,
        "entreprise": entreprise,
        "typeContrat": type_contrat,
        "typeContratLibelle": type_libelle,
        "natureContrat": nature,
        "experienceExige": exp,
        "experienceLibelle": {"D": "Débutant accepté", "E": "2 An(s)", "S": "1 An(s) - souhaitée"}[
            exp
        ],
        "competences": [],
        "formations": [],
        "langues": [],
        "salaire": {"libelle": "Mensuel de 1801.80 Euros sur 12 mois"}
        if rng.random() < 0.6
        else {},
        "dureeTravailLibelle": "35H Horaires normaux",
        "alternance": nature != "Contrat travail",
        "nombrePostes": n_postes,
        "accessibleTH": bool(rng.random() < 0.1),
        "qualificationCode": str(int(rng.integers(1, 10))),
        "secteurActivite": e.naf.division,
        "secteurActiviteLibelle": e.naf.label,
        "origineOffre": {
            "origine": "1",
            "partenaires": [],
            "urlOrigine": f"https://candidat.francetravail.fr/offres/recherche/detail/{oid}",
        },
    }
    if rng.random() >= NO_ESTAB_TRANCHE:
        offer["trancheEffectifEtab"] = _tranche_label(ref, e.band)
    contact, url = draw_contact(
        oid, e.legal_name, e.commune.dep, e.commune.postal_code, e.commune.ncc, " ".join(e.address)
    )
    if url:
        entreprise["url"] = url
    if contact:
        offer["contact"] = contact
    return offer


def _lieu_travail(rng: np.random.Generator, ref: Referentials, e: Establishment) -> dict:
    c = e.commune
    r = rng.random()
    if r < DEPARTEMENT_ONLY:
        return {"libelle": f"{c.dep} - {ref.departements[c.dep][1]}"}
    if r < DEPARTEMENT_ONLY + OTHER_COMMUNE:
        c = names.pick(rng, ref.communes[c.dep])
    return {
        "libelle": f"{c.dep} - {c.ncc}",
        "latitude": round(c.lat, 8),
        "longitude": round(c.lon, 8),
        "codePostal": c.postal_code,
        "commune": c.code,
    }


def _created_at(rng: np.random.Generator, t: int) -> dt.datetime:
    """Offers precede hires: created 0-45 days before the hire month's middle."""
    hire_day = dt.datetime.combine(month_start(t), dt.time(9)) + dt.timedelta(days=14)
    when = hire_day - dt.timedelta(days=int(rng.integers(0, 45)), minutes=int(rng.integers(0, 600)))
    when = min(when, dt.datetime.combine(month_start(t), dt.time(8)) + dt.timedelta(days=27))
    return when.replace(second=int(rng.integers(0, 60))).replace(tzinfo=PARIS)


def draw_offers(
    rng: np.random.Generator,
    estabs: list[Establishment],
    hiring: HiringResult,
    ref: Referentials,
    posting: Posting | None = None,
) -> list[Offer]:
    posting = posting or Posting()
    n = len(estabs)
    propensity = rng.beta(2, 2, n) * 2
    rate = (
        np.array(
            [
                PUBLISH_RATE[sector_group(e.naf.a21)] * SIZE_PUBLISH[_size_class(e.band)]
                for e in estabs
            ]
        )
        * propensity
    )
    if posting.publish_scale != 1.0:
        rate = rate * posting.publish_scale
    rate = np.clip(rate, 0.02, 0.8)
    used: set[str] = set()
    drafts: list[tuple[int, int, str, int, bool]] = []
    for i, t, rome, count, cdi in hiring.records:
        k = int(rng.binomial(count, rate[i]))
        if k:
            drafts.append((i, t, rome, k, cdi * 2 >= count))
    unfilled = rng.poisson(UNFILLED_RATE * hiring.expected * rate[:, None])
    for i, t in zip(*np.nonzero(unfilled), strict=True):
        shares = ref.rome_shares[estabs[i].naf.code]
        rome = shares[int(rng.choice(len(shares), p=[s for _, s in shares]))][0]
        drafts.append((int(i), int(t), rome, 1, bool(rng.random() < 0.4)))
    drafts.sort(key=lambda d: (d[1], d[0], d[2]))
    offers = []
    for i, t, rome, k, cdi in drafts:
        created = _created_at(rng, t)
        oid = _offer_id(rng, t, used)
        payload = _payload(rng, ref, estabs[i], oid, created, rome, k, cdi, posting)
        offers.append(Offer(oid, estabs[i].siret, created, payload))
    offers.sort(key=lambda o: (o.created, o.offer_id))
    return offers
