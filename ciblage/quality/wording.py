"""French wording of the data-quality report: what each expectation asks, its threshold and
what was observed.

`dq_result.observed` is written in English for logs and error messages, and a line such as
« 56 of 1,000 non-empty values fail (5.60 %) » next to « passed » read as a clean result
when the expectation only asked 90 % of the values to pass. The report therefore words
every expectation from its stored details (counts, `mostly`, argument) in French, always
with its threshold, and says « réussi malgré N % en échec » when failures stayed under it.
"""

from __future__ import annotations

from typing import Any

from ciblage.publish import fmt
from ciblage.quality.checks import EXPECTATION_NAMES

KIND_OF = {name: kind for kind, name in EXPECTATION_NAMES.items()}
COVERAGE = "expect_source_to_inform_establishments"  # ciblage.quality.coverage.EXPECTATION
OTHER_EXPECTATIONS = {
    "expect_dpae_sector_in_mapping_table": "secteur DPAE connu de dpae_secteurs.csv",
    "expect_dpae_sector_label_as_published": "libellé du secteur DPAE tel que publié",
    COVERAGE: "part des établissements renseignés",
}
STATUS_LABELS = {
    "passed": "réussi",
    "stopped": "chargement arrêté",
    "uninformative": "ne renseigne presque aucun établissement",
}


def fr_number(value: float, decimals: int = 0) -> str:
    """1234567.8 -> « 1 234 567,8 »: the lists' French number format, integers by default."""
    return fmt.fr_number(value, decimals)


def fr_pct(share: float, decimals: int = 1) -> str:
    """0.056 -> « 5,6 % »."""
    return f"{fr_number(100.0 * share, decimals)}\u00a0%"


def _values(arg: Any, limit: int = 6) -> str:
    items = [str(v) for v in (arg or ())]
    more = f", … (+{len(items) - limit})" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def describe(expectation: str, arg: Any = None) -> str:
    """What the expectation asks of each value (or of the table), in French."""
    kind = KIND_OF.get(expectation)
    if kind is None:
        return OTHER_EXPECTATIONS.get(expectation, expectation)
    return {
        "not_null": "valeur renseignée",
        "unique": "valeur unique",
        "regex": f"format {arg}",
        "luhn": "SIREN/SIRET valide (longueur et clé de contrôle)",
        "in_table": f"valeur connue de {arg}",
        "in_set": f"valeur parmi : {_values(arg)}",
        "date_parse": f"date au format {arg}",
        "between": _between(arg),
        "row_count_ratio": "nombre de lignes comparé au chargement précédent",
    }[kind]


def _between(arg: Any) -> str:
    low, high = (list(arg) + [None, None])[:2] if arg else (None, None)
    if low is not None and high is not None:
        return f"valeur entre {low} et {high}"
    return f"valeur ≥ {low}" if low is not None else f"valeur ≤ {high}"


def threshold(expectation: str, details: dict[str, Any]) -> str:
    """The bar the expectation had to clear, e.g. « ≥ 95,0 % des valeurs non vides »."""
    kind = KIND_OF.get(expectation)
    if kind == "row_count_ratio":
        ratio = details.get("ratio")
        minimum = details.get("minimum")
        if minimum is not None:
            return f"≥ {fr_number(minimum)} lignes"
        return f"≥ {fr_pct(float(ratio), 0)} du précédent" if ratio is not None else "—"
    if expectation == "expect_dpae_sector_label_as_published":
        return "avertissement seulement"
    if expectation == COVERAGE and details.get("min_share") is not None:
        return f"≥ {fr_pct(float(details['min_share']))} des établissements"
    if kind is None:
        return "toutes les lignes" if "unexpected_count" in details else "—"
    mostly = details.get("mostly")
    share = 1.0 if mostly is None else float(mostly)
    base = "des valeurs" if kind == "not_null" else "des valeurs non vides"
    return f"100 % {base}" if share >= 1.0 else f"≥ {fr_pct(share)} {base}"


def observed(expectation: str, unexpected: int, checked: int, details: dict[str, Any]) -> str:
    """What was found, in French: share and count failing, the row counts, or the share of
    establishments a source informs."""
    if expectation == COVERAGE and details.get("population") is not None:
        informed, population = int(details.get("informed") or 0), int(details["population"])
        share = informed / population if population else 0.0
        return (
            f"{fr_pct(share)} des établissements renseignés "
            f"({fr_number(informed)} sur {fr_number(population)})"
        )
    if KIND_OF.get(expectation) == "row_count_ratio":
        rows, previous = details.get("rows"), details.get("previous_rows")
        if rows is None:
            return ""
        if not previous:
            return f"{fr_number(rows)} lignes ; pas de chargement précédent"
        return (
            f"{fr_number(rows)} lignes contre {fr_number(previous)} au chargement précédent "
            f"({fr_pct(rows / previous)})"
        )
    if not checked:
        return "aucune valeur à vérifier"
    what = "vides" if KIND_OF.get(expectation) == "not_null" else "en échec"
    return (
        f"{fr_pct(unexpected / checked, 2)} {what} "
        f"({fr_number(unexpected)} sur {fr_number(checked)})"
    )


def verdict(success: bool, critical: bool, unexpected: int) -> str:
    """« réussi », « réussi malgré des échecs (sous le seuil) », « échec : … »."""
    if success:
        return "réussi malgré des échecs, sous le seuil" if unexpected else "réussi"
    return "échec : chargement arrêté" if critical else "échec : avertissement"
