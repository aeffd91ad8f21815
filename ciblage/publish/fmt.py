"""French display of list values, shared by the CSV, XLSX and HTML outputs and `match`.

Counselors read these files in French Excel and in a browser: decimal comma, dates as
JJ/MM/AAAA, « oui » for flags, stars as characters, so every output says the same thing
the same way.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

FLAG_LABELS = {
    "is_ess": "ESS",
    "is_entreprise_adaptee": "Entreprise adaptée",
    "is_societe_mission": "Société à mission",
    "is_siege": "Siège",
    "is_public": "Employeur public",
}


def fr_date(value: date | datetime | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def fr_number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return ""
    return f"{value:,.{digits}f}".replace(",", "\u202f").replace(".", ",")


def stars(n: int | None) -> str:
    if not n:
        return ""
    return "★" * int(n) + "☆" * (5 - int(n))


def yes(value: bool | None) -> str:
    return "oui" if value else ""


def flags(row: dict[str, Any]) -> list[str]:
    return [label for col, label in FLAG_LABELS.items() if row.get(col)]


def offer_text(offer: dict[str, Any]) -> str:
    parts = [fr_date(offer.get("date_offre")), offer.get("intitule") or ""]
    extra = ", ".join(x for x in (offer.get("code_rome"), offer.get("type_contrat")) if x)
    return " ".join(p for p in parts if p) + (f" ({extra})" if extra else "")


def offers_text(offers: list[dict[str, Any]] | None) -> str:
    return " | ".join(offer_text(o) for o in offers or [])


def reasons_text(reasons: list[str] | None) -> str:
    return " ; ".join(reasons or [])


def full_address(row: dict[str, Any]) -> str:
    town = " ".join(x for x in (row.get("code_postal"), row.get("commune")) if x)
    return ", ".join(x for x in (row.get("address"), town) if x)
