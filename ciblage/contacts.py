"""How a counselor can reach a company, from what public job offers published, and nothing else.

The Offres d'emploi API v2 gives, per offer, a `contact` block (`urlPostulation`,
`courriel`, `telephone`, `coordonnees1..3`, `urlRecruteur`, `nom`) and sometimes the
company's website (`entreprise.url`). Those are public, but a recruiter often fills them
with their own name, personal address or mobile phone. Only what is clearly the
company's channel is kept, at ingest time, so the warehouse never holds more than the
lists may show:

- `contact.nom` is never read (very often « Mme Prénom Nom »);
- an e-mail is kept only when its mailbox is a role (« recrutement@ », « rh@ »…), never
  « prenom.nom@ »;
- a phone is kept only when it is a fixed line (01–05, 09): French mobiles (06, 07) are
  personal more often than not;
- a postal line naming a person (M., Mme…) or holding a personal e-mail is dropped;
- URLs only when they are http(s).

Non-diffusible units never reach a list, so their contacts never reach one either.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

CONTACT_COLUMNS = (
    "contact_url",
    "contact_courriel",
    "contact_telephone",
    "contact_adresse",
    "site_web",
)
ROLE_WORDS = (
    "recrut",
    "rh",
    "drh",
    "contact",
    "emploi",
    "job",
    "carriere",
    "candidat",
    "accueil",
    "info",
    "direction",
    "secretariat",
    "admin",
    "agence",
    "service",
    "talent",
    "personnel",
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)
_CIVILITY = re.compile(r"^\s*(m\.|(mme|mlle|mr|monsieur|madame|mademoiselle)\b)", re.IGNORECASE)


def role_email(address: str) -> bool:
    """A company mailbox (role word, no « prenom.nom » shape), not a person's."""
    local = address.split("@", 1)[0].lower()
    parts = [p for p in re.split(r"[._+-]", local) if p]
    return any(p == w or (len(w) >= 5 and p.startswith(w)) for p in parts for w in ROLE_WORDS)


def _emails(text: str | None) -> list[str]:
    return [m for m in _EMAIL.findall(text or "") if role_email(m)]


def _url(text: str | None) -> str | None:
    m = _URL.search(text or "")
    return m.group(0).rstrip(".,;)") if m else None


def fixed_phone(text: str | None) -> str | None:
    """« 02 38 12 34 56 » for a French fixed line (also +33), else None (mobiles, junk)."""
    digits = re.sub(r"\D", "", text or "")
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    if len(digits) != 10 or digits[:2] not in ("01", "02", "03", "04", "05", "09"):
        return None
    return " ".join(digits[i : i + 2] for i in range(0, 10, 2))


def public_contact(contact: Any, entreprise: Any) -> dict[str, str | None]:
    """The `CONTACT_COLUMNS` of one offer from its `contact` and `entreprise` blocks."""
    c = contact if isinstance(contact, dict) else {}
    e = entreprise if isinstance(entreprise, dict) else {}
    if not c and not e.get("url"):  # nothing to read: every check below would give None
        return dict.fromkeys(CONTACT_COLUMNS)

    def text(key: str, block: dict = c) -> str | None:
        value = block.get(key)
        return value.strip() or None if isinstance(value, str) else None

    courriel_text = text("courriel")
    url = _url(text("urlPostulation")) or _url(courriel_text)
    lines = []
    for key in ("coordonnees1", "coordonnees2", "coordonnees3"):
        line = text(key)
        if not line or _CIVILITY.search(line):
            continue
        found = _EMAIL.findall(line)
        if any(not role_email(m) for m in found):
            continue
        lines.append(line)
    emails = _emails(courriel_text) + [m for ln in lines for m in _emails(ln)]
    return {
        "contact_url": url,
        "contact_courriel": emails[0] if emails else None,
        "contact_telephone": fixed_phone(text("telephone")),
        "contact_adresse": " — ".join(lines) or None,
        "site_web": _url(text("url", e)) or _url(text("urlRecruteur")),
    }


def annuaire_url(siren: str | None) -> str | None:
    """The company's public page on annuaire-entreprises.data.gouv.fr (SIREN)."""
    return f"https://annuaire-entreprises.data.gouv.fr/entreprise/{siren}" if siren else None


def osm_url(lat: float | None, lon: float | None) -> str | None:
    """OpenStreetMap centred on the establishment."""
    if lat is None or lon is None:
        return None
    return (
        f"https://www.openstreetmap.org/?mlat={lat:.5f}&mlon={lon:.5f}#map=17/{lat:.5f}/{lon:.5f}"
    )


def contact_channels(row: dict[str, Any]) -> list[dict[str, str]]:
    """The channels of a targets row as {label, value, href}, in French, for every output."""
    tel = row.get("contact_telephone")
    mail = row.get("contact_courriel")
    items = [
        ("Postuler / contacter en ligne", row.get("contact_url"), row.get("contact_url")),
        ("Courriel", mail, mailto(mail) if mail else None),
        ("Téléphone", tel, "tel:" + tel.replace(" ", "") if tel else None),
        ("Adresse de candidature", row.get("contact_adresse"), None),
        ("Site web", row.get("site_web"), row.get("site_web")),
    ]
    return [{"label": k, "value": v, "href": h or ""} for k, v, h in items if v]


def contact_text(row: dict[str, Any], date_fr: str) -> str:
    """One line for the CSV/XLSX: the channels, then where and when they were seen."""
    channels = contact_channels(row)
    if not channels:
        return ""
    text = " ; ".join(f"{c['label']} : {c['value']}" for c in channels)
    return f"{text} (contact vu dans l'offre du {date_fr})" if date_fr else text


def mailto(address: str) -> str:
    return "mailto:" + quote(address, safe="@.")


def offers_relation(con: Any) -> str:
    """`offre`, with NULL contact columns when it was loaded before they existed (a
    warehouse not re-ingested since), so the lists build either way."""
    cols = {r[0] for r in con.execute("DESCRIBE offre").fetchall()}
    missing = [c for c in CONTACT_COLUMNS if c not in cols]
    if not missing:
        return "offre"
    return "(SELECT *, " + ", ".join(f"NULL::VARCHAR AS {c}" for c in missing) + " FROM offre)"
