"""Recruiter contact blocks of sample offers, shaped like the Offres d'emploi API v2 `contact`.

Real offers carry, for a share of them, how to apply: an application URL, an e-mail, a
phone number, postal lines (`coordonnees1..3`), sometimes a recruiter's name (`nom`, often
a natural person: the lists must never show it) and the company website
(`entreprise.url`). The draws use their own generator seeded by the offer id, so adding
them leaves every other draw of the sample, and every other file, unchanged.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from ciblage.sample import names

CONTACT_SHARE = 0.45  # offers with a contact block
WEBSITE_SHARE = 0.2  # offers giving entreprise.url
PERSON_NAME_SHARE = 0.5  # contact blocks naming a person (never published)
ROLE_MAILBOXES = ("recrutement", "rh", "contact", "emploi", "candidatures")


def _slug(text: str) -> str:
    words = re.sub(r"[^a-z0-9 ]", " ", names.fold_accents(text).lower()).split()
    return "-".join(words[:3]) or "entreprise"


def _phone(rng: np.random.Generator, dep: str) -> str:
    prefix = {"45": "02", "27": "02", "57": "03"}.get(dep, "01")
    pairs = " ".join(f"{int(x):02d}" for x in rng.integers(0, 100, 4))
    return f"{prefix} {pairs}"


def draw_contact(
    offer_id: str, legal_name: str, dep: str, postal: str, town: str, street: str
) -> tuple[dict | None, str | None]:
    """(`contact` block or None, `entreprise.url` or None) of one offer."""
    rng = np.random.default_rng(zlib.crc32(offer_id.encode("ascii")))
    site = f"https://www.{_slug(legal_name)}.fr"
    url = site if rng.random() < WEBSITE_SHARE else None
    if rng.random() >= CONTACT_SHARE:
        return None, url
    contact: dict = {}
    if rng.random() < PERSON_NAME_SHARE:
        first = names.pick(rng, ("Sophie", "Julien", "Nadia", "Pierre", "Claire", "Karim"))
        contact["nom"] = (
            f"{names.pick(rng, ('M.', 'Mme'))} {first} {names.pick(rng, names.SURNAMES)}"
        )
    else:
        contact["nom"] = legal_name
    mode = rng.random()
    if mode < 0.35:
        contact["urlPostulation"] = f"{site}/carrieres/offre-{offer_id.lower()}"
    elif mode < 0.6:
        box = names.pick(rng, ROLE_MAILBOXES)
        contact["courriel"] = f"{box}@{_slug(legal_name)}.fr"
    elif mode < 0.8:
        contact["telephone"] = _phone(rng, dep)
    else:
        contact["coordonnees1"] = street
        contact["coordonnees2"] = f"{postal} {town}"
        contact["coordonnees3"] = (
            f"Courriel : {names.pick(rng, ROLE_MAILBOXES)}@{_slug(legal_name)}.fr"
        )
    if rng.random() < 0.15:
        contact["urlRecruteur"] = f"{site}/recrutement"
    return contact, url
