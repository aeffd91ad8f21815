"""The data files site.js draws the site's lists and fiches from.

A national run publishes millions of list lines and fiches: one HTML page per list and
per company meant a template render per line and millions of files. Instead each agency
has three pages (its index, `liste.html#<ROME>`, `fiche.html#<SIRET>`) and a few data
files: `listes/<k>.js` (whole trades, about LIST_ROWS_PER_FILE lines per file) and
`fiches/<k>.js` (at most FICHES_PER_FILE companies, the file found from the SIRET).
They are scripts calling `ciblageListes(...)` / `ciblageFiches(...)`, not JSON, because
a page opened from a shared drive (`file://`) may load scripts but not fetch files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ciblage.publish import fmt

FICHE_HREF = "fiche.html#{siret}"


def json_script(data: Any, element_id: str) -> str:
    """`data` as an inline JSON block that site.js renders: the page stays one file that
    opens from `file://` (no fetch), and `<` is escaped so no value can close the tag."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    text = text.replace("<", "\\u003c")  # JSON's escape of "<": the same value once parsed
    return f'<script type="application/json" id="{element_id}">{text}</script>'


def row_data(r: dict[str, Any]) -> dict[str, Any]:
    """What one line of a list page shows (site.js draws the table from these): the
    display texts come from `fmt`, as in the CSV and the XLSX."""
    offers = r.get("last_offers") or []
    return {
        "rank": r["rank"],
        "siret": r["siret"],
        "name": r["name"],
        "enseigne": r.get("enseigne") if r.get("enseigne") != r["name"] else None,
        "commune": r.get("commune"),
        "naf": r.get("naf_label") or r.get("naf_code"),
        "tranche": r.get("tranche_effectifs"),
        "tranche_label": r.get("tranche_effectifs_label"),
        "potential": r["hiring_potential"],
        "stars": r["stars"],
        "stars_text": fmt.stars(r["stars"]),
        "expected": r["expected_hires_6m"],
        "expected_fr": fmt.hires_band(r["expected_hires_6m"]),
        "reasons": r.get("reasons") or [],
        "last_offer": fmt.offer_text(offers[0]) if offers else "",
        "last_offer_sort": offers[0]["date_offre"].isoformat() if offers else "",
        "flags": fmt.flags(r),
        "cooldown": (r.get("cooldown_reason") or "") if r.get("in_cooldown") else None,
        "map": point(r) if r.get("latitude") is not None else None,
    }


def fiche_context(f: dict[str, Any]) -> dict[str, Any]:
    lists = [
        {**x, "stars_text": fmt.stars(x["stars"]), "expected_fr": fmt.hires_band(x["expected"])}
        for x in f["lists"]
    ]
    return {**f, "lists": lists, "date_creation_fr": fmt.fr_date(f.get("date_creation"))}


FICHE_KEYS = (
    "siret", "name", "enseigne", "flags", "in_cooldown", "cooldown_reason", "reasons",
    "contacts", "contact_date_fr", "annuaire_url", "osm_url", "lists", "top_romes",
    "address_full", "naf_code", "naf_label", "tranche_effectifs_label",
    "categorie_entreprise", "etablissements_actifs", "date_creation_fr",
    "hiring_potential_etablissement", "offers_12m", "offers", "aids",
)  # fmt: skip


def fiche_data(f: dict[str, Any], with_map: bool = True) -> dict[str, Any]:
    """The fields site.js's fiche shows, formatted (only those: the data files stay small
    and hold nothing the page does not show)."""
    ctx = fiche_context(f)
    out = {k: ctx.get(k) for k in FICHE_KEYS}
    out["offers"] = [o["text"] for o in ctx.get("offers") or []]
    out["lists"] = [
        {k: x.get(k) for k in ("code_rome", "rome_label", "rank", "hiring_potential")}
        | {"stars_text": x["stars_text"], "expected_fr": x["expected_fr"]}
        for x in ctx["lists"]
    ]
    out["top_romes"] = [
        {k: t.get(k) for k in ("code_rome", "rome_label", "hiring_potential")}
        for t in ctx.get("top_romes") or []
    ]
    out["aids"] = [
        {k: a.get(k) for k in ("nom", "statut", "pourquoi", "resume", "source", "fraicheur")}
        for a in ctx.get("aids") or []
    ]
    if with_map and f.get("latitude") is not None:
        out["map"] = [point(f)]
    return out


# The fiches of an agency, in data files of at most this many companies each: a national
# agency lists thousands of companies, and one page per company would mean millions of
# files for France; the fiche page loads only the file that holds the asked company.
FICHES_PER_FILE = 250


def fiche_files(n: int) -> int:
    return max(1, -(-n // FICHES_PER_FILE))


def fiche_file(siret: str, files: int) -> int:
    """The data file holding `siret` (site.js computes the same: Number(siret) % files)."""
    return int(siret) % files


def compact_fiches(fiches: list[dict[str, Any]]) -> dict[str, Any]:
    """One fiche data file: what many companies share is stored once (the aid texts, a
    few hundred bytes each, are the same for every private employer; trade labels) and
    the companies refer to it by index. site.js's `ciblageFiches` expands it back to
    `fiche_data`'s shape. This keeps a national run's fiches near 1 kB each."""
    # an aid by its sorted (field, text) pairs: hashable, and 10 times cheaper than its
    # JSON text, which was 4 % of a national agency's files (7 aids x 1,000 companies)
    aids: dict[tuple[tuple[str, Any], ...], int] = {}
    labels: dict[str, str | None] = {}
    out: dict[str, Any] = {}
    for f in fiches:
        d = fiche_data(f)
        refs = []
        for a in d["aids"]:
            key = tuple(sorted(a.items()))
            refs.append(aids.setdefault(key, len(aids)))
        d["aids"] = refs
        for x in d["lists"] + d["top_romes"]:
            labels[x["code_rome"]] = x.get("rome_label")
        d["lists"] = [
            [x["code_rome"], x["rank"], x["hiring_potential"], x["stars_text"], x["expected_fr"]]
            for x in d["lists"]
        ]
        d["top_romes"] = [[x["code_rome"], x["hiring_potential"]] for x in d["top_romes"]]
        # empty values left out (site.js shows nothing for them); 0 is a value
        out[f["siret"]] = {
            k: v for k, v in d.items() if not (v is None or v is False or v in ("", []))
        }
    return {
        "fiches": out,
        "aides": [dict(k) for k in aids],
        "metiers": dict(sorted(labels.items())),
    }


def write_fiche_files(folder: Path, fiches: list[dict[str, Any]]) -> int:
    """`fiches/<k>.js`, each a call `ciblageFiches({...})` (a script, not JSON: a page
    opened from `file://` may load scripts but not fetch files); returns the file count."""
    files = fiche_files(len(fiches))
    parts: list[list[dict[str, Any]]] = [[] for _ in range(files)]
    for f in fiches:
        parts[fiche_file(f["siret"], files)].append(f)
    folder.mkdir(parents=True, exist_ok=True)
    for k, part in enumerate(parts):
        text = json.dumps(
            compact_fiches(part), ensure_ascii=False, separators=(",", ":"), default=str
        )
        (folder / f"{k}.js").write_text(f"ciblageFiches({text});\n", encoding="utf-8")
    return files


def point(r: dict[str, Any]) -> dict[str, Any]:
    """A company on a map (site.js's buildMap): commune centre when not precise."""
    precise = bool(r.get("geo_precise", True))
    return {
        "s": r["siret"],
        "la": round(r["latitude"], 6),
        "lo": round(r["longitude"], 6),
        "l": f"{r['name']} — {r.get('commune') or ''} ({r['hiring_potential']}/100)"
        + ("" if precise else " — position approximative"),
        "h": "",
        "p": precise,
        "z": round((r["hiring_potential"] or 0) / 100, 2),
    }


# A list data file holds whole trades, starting a new file past this many lines: a page
# loads one file of about a megabyte at most, whatever the size of the agency.
LIST_ROWS_PER_FILE = 1500


def list_data(
    code_rome: str, label: str | None, rows: list[dict[str, Any]], note: dict[str, Any] | None
) -> dict[str, Any]:
    """One trade's list: its lines in rank order and, when short, how to widen it."""
    keep = ("n", "top_n", "min_potential", "neighbours", "trades")
    return {
        "code_rome": code_rome,
        "label": label,
        "note": {k: note[k] for k in keep} if note else None,
        "rows": [row_data(r) for r in rows],
    }


# A list data file stores each company once (a company is on several of an agency's
# trade lists, with the same identity, reasons and position) and each line as an array in
# LINE_COLUMNS order pointing at it; texts many lines share (activity and headcount labels,
# stars, hires bands) are stored once per file. What site.js can rebuild exactly is left
# out: the map point (from siret, name, commune, potential and position) and the sort key
# of the last offer (its date).
COMPANY_COLUMNS = (
    "siret", "name", "enseigne", "commune", "naf", "tranche", "reasons", "last_offer",
    "flags", "la", "lo", "p",
)  # fmt: skip
LINE_COLUMNS = ("rank", "entreprise", "potential", "stars", "expected", "expected_fr", "cooldown")


def compact_lists(part: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One list data file in the compact form above; site.js's `ciblageListes` expands it
    back to `list_data`'s shape (a browser test checks the round trip). A file takes about
    a sixth of its keyed form (measured on the lists of 5 % of France), which keeps the
    site of all of France within its size budget (docs/outputs.md)."""
    tables: dict[str, dict[Any, int]] = {
        "entreprises": {}, "naf": {}, "effectifs": {}, "etoiles": {}, "bandes": {},
    }  # fmt: skip

    def ref(table: str, value: Any) -> int | None:
        if value is None:
            return None
        return tables[table].setdefault(value, len(tables[table]))

    trades = {}
    for code, t in part.items():
        lines = []
        for r in t["rows"]:
            m = r.get("map") or {}
            company = (
                r["siret"], r["name"], r["enseigne"], r["commune"], ref("naf", r["naf"]),
                ref("effectifs", (r["tranche"], r["tranche_label"])), tuple(r["reasons"]),
                r["last_offer"], tuple(r["flags"]), m.get("la"), m.get("lo"), m.get("p"),
            )  # fmt: skip
            lines.append([
                r["rank"], ref("entreprises", company), r["potential"],
                ref("etoiles", (r["stars"], r["stars_text"])),
                round(r["expected"], 4) if r["expected"] is not None else None,
                ref("bandes", r["expected_fr"]), r["cooldown"],
            ])  # fmt: skip
        trades[code] = {"label": t["label"], "note": t["note"], "rows": lines}
    return {
        "colonnes": list(LINE_COLUMNS),
        "colonnes_entreprise": list(COMPANY_COLUMNS),
        **{name: list(table) for name, table in tables.items()},
        "metiers": trades,
    }


def write_list_files(folder: Path, trades: list[dict[str, Any]]) -> dict[str, int]:
    """`listes/<k>.js`, trades packed in code order; returns {code_rome: k} (liste.html
    holds it, to load only the file of the asked trade)."""
    index: dict[str, int] = {}
    parts: list[dict[str, Any]] = [{}]
    size = 0
    for t in trades:
        if size and size + len(t["rows"]) > LIST_ROWS_PER_FILE:
            parts.append({})
            size = 0
        parts[-1][t["code_rome"]] = t
        index[t["code_rome"]] = len(parts) - 1
        size += len(t["rows"])
    folder.mkdir(parents=True, exist_ok=True)
    for k, part in enumerate(parts):
        text = json.dumps(
            compact_lists(part), ensure_ascii=False, separators=(",", ":"), default=str
        )
        (folder / f"{k}.js").write_text(f"ciblageListes({text});\n", encoding="utf-8")
    return index
