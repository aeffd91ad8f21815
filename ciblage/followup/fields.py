"""Parsing of the values an agency types in its promotions file.

Agencies fill the file by hand in French Excel, so every field accepts the usual variants
(accents, case, `12/09/2026` or `2026-09-12`, SIRET with spaces) and turns them into one
canonical form; anything else raises `FieldError` with a French message the agency can act
on. Pseudonymous ids are checked so that a name, e-mail or phone number of a job seeker
never enters the warehouse by mistake.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timedelta

from ciblage.siret import siret_ok, siret_problem

CANAL_LABELS = {"mail": "mail", "telephone": "téléphone", "visite": "visite"}
RESULTAT_LABELS = {
    "sans_reponse": "sans réponse",
    "refus": "refus",
    "entretien": "entretien",
    "embauche": "embauche",
}
# Outcomes that prove the company answered (anything but silence).
ANSWERED = ("refus", "entretien", "embauche")

_CANAL_VARIANTS = {
    "mail": ("mail", "e mail", "email", "courriel", "mel", "message"),
    "telephone": ("telephone", "tel", "phone", "appel", "appel telephonique"),
    "visite": ("visite", "visite entreprise", "rencontre", "sur place", "physique", "rdv"),
}
_RESULTAT_VARIANTS = {
    "sans_reponse": (
        "sans reponse",
        "pas de reponse",
        "aucune reponse",
        "non repondu",
        "no answer",
        "sans suite",
    ),
    "refus": ("refus", "refuse", "reponse negative", "negatif", "non retenu"),
    "entretien": ("entretien", "entretien obtenu", "rendez vous", "entretien d embauche"),
    "embauche": ("embauche", "embauchee", "recrute", "recrutee", "recrutement", "hired"),
}
# A blank outcome, or one of these, means "not known yet".
_PENDING = ("", "en attente", "en cours", "a relancer", "attente")

_ROME = re.compile(r"^[A-N]\d{4}$")
_AGENCY = re.compile(r"^[A-Za-z0-9_-]{1,20}$")
_PSEUDO_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
_EMAIL = re.compile(r"@")
_PHONE = re.compile(r"^(\+33|0033|0)[1-9](\d{8})$")
_EXCEL_EPOCH = date(1899, 12, 30)


class FieldError(ValueError):
    """A value that cannot be accepted; the message is shown to the agency (French)."""


def fold(text: str) -> str:
    """Lower case, accents removed, punctuation collapsed to single spaces."""
    nfkd = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in nfkd if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", " ", plain).strip()


def _lookup(
    value: str, variants: dict[str, tuple[str, ...]], labels: dict[str, str], what: str
) -> str:
    key = fold(value)
    for canonical, names in variants.items():
        if key in names:
            return canonical
    allowed = ", ".join(labels.values())
    raise FieldError(f"{what} inconnu (valeurs acceptées : {allowed})")


def siret_luhn_ok(siret: str) -> bool:
    """Luhn check of a 14-digit SIRET; La Poste's (SIREN 356000000) may use a digit sum mod 5."""
    return len(siret) == 14 and siret_ok(siret)


def parse_siret(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int):
        raw = str(raw).zfill(14)
    text = re.sub(r"[\s.\u00a0]", "", str(raw or ""))
    if re.fullmatch(r"\d+(,\d+)?E\+\d+", text, flags=re.IGNORECASE):
        raise FieldError(
            "SIRET abîmé par Excel (notation scientifique) : formatez la colonne en texte"
        )
    if not text:
        raise FieldError("SIRET manquant")
    if len(text) == 13 and text.isdigit() and siret_luhn_ok("0" + text):
        text = "0" + text  # Excel drops the leading zero of a number
    problem = siret_problem(text)
    if problem:  # « 13 chiffres au lieu de 14 », not a check-digit error
        raise FieldError(f"SIRET invalide : {problem}")
    return text


def parse_date(raw: object, today: date) -> date:
    """Excel dates (cells or serial numbers), `JJ/MM/AAAA`, `JJ-MM-AAAA` or ISO."""
    if isinstance(raw, datetime):
        value = raw.date()
    elif isinstance(raw, date):
        value = raw
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        value = _EXCEL_EPOCH + timedelta(days=int(raw))
    else:
        value = _parse_date_text(str(raw or "").strip())
    if value.year < 2000:
        raise FieldError("date antérieure à 2000")
    if value > today:
        raise FieldError("date dans le futur")
    return value


def _parse_date_text(text: str) -> date:
    if not text:
        raise FieldError("date manquante")
    text = text.split(" ")[0].split("T")[0]
    m = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})", text)
    try:
        if m:
            day, month, year = (int(g) for g in m.groups())
            return date(year + 2000 if year < 100 else year, month, day)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        if re.fullmatch(r"\d{5}", text):  # Excel serial number exported as text
            return _EXCEL_EPOCH + timedelta(days=int(text))
    except ValueError as exc:
        raise FieldError("date impossible") from exc
    raise FieldError("date illisible (attendu JJ/MM/AAAA)")


def parse_rome(raw: object) -> str:
    text = str(raw or "").strip().upper().replace(" ", "")
    if not text:
        raise FieldError("code ROME manquant")
    if not _ROME.fullmatch(text):
        raise FieldError("code ROME invalide (attendu une lettre et 4 chiffres, ex. M1607)")
    return text


def parse_agency(raw: object) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise FieldError("code agence manquant")
    if not _AGENCY.fullmatch(text):
        raise FieldError("code agence invalide (lettres, chiffres, - ou _ ; 20 caractères max)")
    return text.upper()


def parse_pseudo_id(raw: object, required: bool) -> str | None:
    """A pseudonymous identifier: never an e-mail, a phone number or a name."""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    text = str(raw if raw is not None else "").strip()
    if not text:
        if required:
            raise FieldError("identifiant manquant")
        return None
    if _EMAIL.search(text):
        raise FieldError(
            "ressemble à une adresse e-mail : seul un identifiant pseudonyme est admis"
        )
    if _PHONE.fullmatch(re.sub(r"[\s.-]", "", text)):
        raise FieldError("ressemble à un numéro de téléphone : identifiant pseudonyme attendu")
    if re.search(r"[A-Za-zÀ-ÿ]{2,}\s+[A-Za-zÀ-ÿ]{2,}", text) or not _PSEUDO_ID.fullmatch(text):
        raise FieldError(
            "ressemble à un nom : seul un identifiant pseudonyme (sans espace) est admis"
        )
    return text


def parse_canal(raw: object) -> str | None:
    text = str(raw or "").strip()
    return _lookup(text, _CANAL_VARIANTS, CANAL_LABELS, "canal") if text else None


def parse_resultat(raw: object) -> str | None:
    text = str(raw or "").strip()
    if fold(text) in _PENDING:
        return None
    return _lookup(text, _RESULTAT_VARIANTS, RESULTAT_LABELS, "résultat")
