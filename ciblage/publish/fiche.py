"""Company fiche: what a counselor needs to call a company and argue for a profile.

A fiche gathers, for one establishment of a territory's lists: identity and address,
activity and size, hiring potential (overall and in each listed trade), the model's
reasons, the last offers seen, the flags (ESS, entreprise adaptée, head office…), the
promotion cool-down if any, and the hiring aids its kind of employer can use. Built from
the validated list rows (`targets/`) plus a few read-only look-ups in the warehouse.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

import duckdb

from ciblage.aids import NO, Aid, Company, Profile, applicable_aids, load_aids
from ciblage.contacts import annuaire_url, contact_channels, contact_text, osm_url
from ciblage.publish import fmt

TOP_ROMES = 5


EXTRAS_SQL = """
WITH f AS (SELECT DISTINCT siret FROM {sirets}),
labels AS (
    SELECT code_rome, any_value(rome_label) AS rome_label FROM ref_naf_rome GROUP BY code_rome
),
top AS (
    SELECT r.siret,
        list(struct_pack(code_rome := r.code_rome, rome_label := l.rome_label,
                         hiring_potential := r.hiring_potential, expected := r.expected_hires)
             ORDER BY r.expected_hires DESC, r.code_rome)[1:{top}] AS top_romes
    FROM {scores} r
    JOIN f USING (siret)
    LEFT JOIN labels l USING (code_rome)
    WHERE r.as_of = DATE '{as_of}'
    GROUP BY r.siret
),
siblings AS (
    -- a SIRET is its SIREN + NIC (an ingest rule): no read of the listed rows themselves
    SELECT f.siret, count(*) AS n
    FROM f
    JOIN etablissement o ON o.siren = left(f.siret, 9) AND o.etat_administratif = 'A'
    GROUP BY f.siret
)
SELECT f.siret, coalesce(top.top_romes, []) AS top_romes,
       CAST(siblings.n AS INTEGER) AS etablissements_actifs
FROM f
LEFT JOIN top USING (siret)
LEFT JOIN siblings USING (siret)
"""


def extras_sql(sirets: str, as_of: date, scores: str = "score_etablissement_rome") -> str:
    """Per siret of relation `sirets`: its best trades overall and its company's active
    establishments, in one pass over the score and establishment tables (the publish
    stage runs it once for every listed company of the run, not once per agency; a
    territory rerun passes the per-ROME scores of its départements only as `scores`)."""
    return EXTRAS_SQL.format(sirets=sirets, as_of=as_of.isoformat(), top=TOP_ROMES, scores=scores)


def warehouse_extras(
    con: duckdb.DuckDBPyConnection, sirets: Iterable[str], as_of: date
) -> dict[str, dict[str, Any]]:
    """Per siret: its best trades overall, and its company's active establishments."""
    ids = sorted(set(sirets))
    if not ids:
        return {}
    con.execute(
        "CREATE OR REPLACE TEMP TABLE fiche_siret AS SELECT unnest($ids) AS siret", {"ids": ids}
    )
    rows = con.execute(extras_sql("fiche_siret", as_of)).fetchall()
    return {siret: {"top_romes": list(top), "etablissements_actifs": n} for siret, top, n in rows}


def company_aids(
    row: dict[str, Any], profile: Profile | None = None, aids: list[Aid] | None = None
) -> list[dict[str, Any]]:
    """Aids open to this employer (and to the profile when given), with why."""
    company = Company(
        categorie_juridique=row.get("categorie_juridique"),
        tranche_effectifs=row.get("tranche_effectifs"),
    )
    return [v.as_dict() for v in applicable_aids(profile, company, aids) if v.status != NO]


def build_fiches(
    rows: Iterable[dict[str, Any]],
    extras: dict[str, dict[str, Any]] | None = None,
    profile: Profile | None = None,
    aids: list[Aid] | None = None,
) -> list[dict[str, Any]]:
    """One fiche per siret of `rows` (targets rows of one territory), best first."""
    extras = extras or {}
    aids = aids if aids is not None else load_aids()  # parsed once, not per company
    fiches: dict[str, dict[str, Any]] = {}
    ordered = sorted(rows, key=_row_order)
    for row in ordered:
        f = fiches.get(row["siret"])
        if f is None:
            f = dict(row)
            f.update(
                address_full=fmt.full_address(row),
                flags=fmt.flags(row),
                stars_text=fmt.stars(row["stars"]),
                offers=[
                    {**o, "text": fmt.offer_text(o), "date_fr": fmt.fr_date(o["date_offre"])}
                    for o in row.get("last_offers") or []
                ],
                lists=[],
                aids=company_aids(row, profile, aids),
                contacts=contact_channels(row),
                contact_date_fr=fmt.fr_date(row.get("contact_date")),
                contact_text=contact_text(row, fmt.fr_date(row.get("contact_date"))),
                annuaire_url=annuaire_url(row.get("siren")),
                osm_url=osm_url(row.get("latitude"), row.get("longitude")),
                **extras.get(row["siret"], {"top_romes": [], "etablissements_actifs": None}),
            )
            fiches[row["siret"]] = f
        f["lists"].append(
            {
                "code_rome": row["code_rome"],
                "rome_label": row["rome_label"],
                "rank": row["rank"],
                "hiring_potential": row["hiring_potential"],
                "stars": row["stars"],
                "expected": row["expected_hires_6m"],
                "in_cooldown": row["in_cooldown"],
            }
        )
    for f in fiches.values():
        f["lists"].sort(key=trade_order)
    return list(fiches.values())


def _row_order(r: dict[str, Any]) -> tuple[Any, ...]:
    """Total order of target rows: the first row of a siret (whose fields the fiche
    copies) must not depend on the order the rows came in."""
    return (r["rank"], *trade_order({**r, "expected": r.get("expected_hires_6m")}), r["siret"])


def trade_order(x: dict[str, Any]) -> tuple[Any, ...]:
    """A company's trades on its fiche: potential, then expected hires (both descending),
    then code_rome, a total order, so two runs on the same data write the same page."""
    return (-(x["hiring_potential"] or 0), -(x["expected"] or 0.0), x["code_rome"])


def fiche_lines(f: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, value) lines of a fiche, in reading order (also used by `match`)."""
    lines = [
        ("SIRET", f["siret"]),
        ("Enseigne", f.get("enseigne") or ""),
        ("Adresse", f["address_full"]),
        ("Activité", f"{f['naf_code']} {f.get('naf_label') or ''}".strip()),
        ("Effectif", f.get("tranche_effectifs_label") or ""),
        ("Catégorie", f.get("categorie_entreprise") or ""),
        (
            "Potentiel d'embauche (établissement)",
            f"{f.get('hiring_potential_etablissement') or ''}/100",
        ),
        ("Raisons", fmt.reasons_text(f.get("reasons"))),
        (
            "Listes",
            " ; ".join(
                f"{x['code_rome']} {x['rome_label'] or ''} : rang {x['rank']}, "
                f"potentiel {x['hiring_potential']}/100 {fmt.stars(x['stars'])}"
                for x in f["lists"]
            ),
        ),
        ("Comment la joindre", f.get("contact_text") or ""),
        ("Annuaire des entreprises", f.get("annuaire_url") or ""),
        ("Dernières offres", fmt.offers_text(f.get("last_offers"))),
        ("Signes distinctifs", ", ".join(f["flags"])),
        (
            "Aides mobilisables",
            " ; ".join(f"{a['nom']} ({a['statut']} : {a['pourquoi']})" for a in f["aids"]),
        ),
    ]
    if f.get("in_cooldown"):
        lines.append(("Pause (suivi des promotions)", f.get("cooldown_reason") or "oui"))
    return [(k, v) for k, v in lines if v not in ("", "/100")]
