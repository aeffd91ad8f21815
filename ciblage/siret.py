"""The SIREN / SIRET checksum, one scalar implementation for every per-row caller.

INSEE numbers SIREN (9 digits) and SIRET (14 digits) with a Luhn key. La Poste's
establishments (SIREN 356000000) are numbered outside that scheme: INSEE accepts them when
the sum of the SIRET's digits is a multiple of 5 (the head office, 35600000000048, also
passes the plain Luhn test). The vectorised form for millions of rows is
`ciblage.quality.luhn.luhn_valid`, the SQL one `ciblage.ingest.rules.install_macros`.

`siret_problem` says *why* a number is refused, in French, so that a 13-digit SIRET reads
« 13 chiffres au lieu de 14 » rather than a check-digit error a user cannot act on; its SQL
twin is `ciblage.ingest.rules.siret_problem_sql` (same texts, tested together).
"""

from __future__ import annotations

LA_POSTE_SIREN = "356000000"


def luhn_sum(digits: str) -> int:
    """Luhn total of a string of ASCII digits: every second digit from the right doubled
    (less 9 above 9). Also the points of each digit pair of the SQL check
    (`ciblage.ingest.rules`)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total


def luhn_ok(digits: str) -> bool:
    """The plain Luhn test: every second digit from the right doubled, total % 10 == 0."""
    return digits.isdigit() and luhn_sum(digits) % 10 == 0


def siret_ok(value: str | None) -> bool:
    """True for a 9-digit SIREN or 14-digit SIRET that INSEE would accept (La Poste included)."""
    if value is None or len(value) not in (9, 14) or not value.isascii():
        return False
    if luhn_ok(value):
        return True
    return (
        len(value) == 14
        and value.startswith(LA_POSTE_SIREN)
        and value.isdigit()
        and sum(int(c) for c in value) % 5 == 0
    )


def siret_problem(value: str | None, length: int = 14) -> str | None:
    """Why `value` is not a valid SIRET (`length` 14) or SIREN (9), in French; None if valid.

    The checks go from what a user sees first to the checksum: empty, non-digit characters,
    wrong number of digits, and only then the check digit.
    """
    if value is None or not value.strip():
        return "vide"
    others = sorted({c for c in value if not ("0" <= c <= "9")})
    if others:
        shown = " ".join(f"« {c} »" for c in others[:5])
        return f"caractère(s) autre(s) que des chiffres : {shown}"
    if len(value) != length:
        return f"{len(value)} chiffres au lieu de {length}"
    valid = siret_ok(value) if length == 14 else luhn_ok(value)
    return None if valid else "clé de contrôle (dernier chiffre) fausse"


def identifier_length(column: str | None) -> int:
    """Digits a SIREN/SIRET column holds, from its name: 9 for a SIREN column, else 14."""
    name = (column or "").lower()
    return 9 if "siren" in name and "siret" not in name else 14
