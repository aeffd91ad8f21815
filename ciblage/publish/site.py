"""Static HTML site: index of agencies → agency → one page per ROME list → company fiche.

Plain files opened from a shared drive or `file://`: relative links only, one small
vanilla script for sorting and filtering, no CDN: the map library (Leaflet, from the npm
registry) is vendored in the assets, background tiles are loaded only when the page is
online, and the points (with an inline SVG drawing as fallback) never need the network,
so it works on an agency workstation with no network.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from functools import lru_cache
from html import escape
from itertools import groupby
from math import cos, radians
from operator import itemgetter
from pathlib import Path
from typing import Any

from ciblage.config import PROJECT_ROOT
from ciblage.publish.site_data import (
    FICHE_HREF,
    list_data,
    write_fiche_files,
    write_list_files,
)

TEMPLATES = PROJECT_ROOT / "reports" / "templates" / "site"
SITE_DIR = "site"


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["j2", "html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, path: Path, **context: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    context.setdefault("generated", datetime.now(UTC).strftime("%d/%m/%Y %H:%M UTC"))
    path.write_text(_env().get_template(template).render(**context), encoding="utf-8")
    return path


def copy_assets(site_dir: Path) -> None:
    shutil.copytree(TEMPLATES / "assets", site_dir / "assets", dirs_exist_ok=True)


MAP_MAX_HEIGHT = 640
MAP_MIN_HEIGHT = 160


def map_svg(points: list[dict[str, Any]], width: int = 640) -> str:
    """Inline SVG scatter of (latitude, longitude), equirectangular at the mean latitude:
    the offline fallback of the map, every point inside the box (one scale for both
    axes, fitted to the width and the maximum height).

    `points`: dicts with lat, lon, label, href (optional), size (0..1), precise, siret.
    """
    pts = [p for p in points if p.get("lat") is not None and p.get("lon") is not None]
    if not pts:
        return '<p class="note">Coordonnées non disponibles pour ces établissements.</p>'
    lat0 = sum(p["lat"] for p in pts) / len(pts)
    k = cos(radians(lat0))
    xs = [p["lon"] * k for p in pts]
    ys = [p["lat"] for p in pts]
    margin = 12.0  # px: the largest dot's radius plus its stroke
    span_x = max(max(xs) - min(xs), 1e-6)
    span_y = max(max(ys) - min(ys), 1e-6)
    scale = min((width - 2 * margin) / span_x, (MAP_MAX_HEIGHT - 2 * margin) / span_y, width / 0.02)
    height = int(max(MAP_MIN_HEIGHT, span_y * scale + 2 * margin))
    x_off = (width - span_x * scale) / 2 - min(xs) * scale
    y_off = (height - span_y * scale) / 2 + max(ys) * scale
    out = [
        f'<svg class="carte" role="img" aria-label="Carte des établissements" '
        f'viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px">'
    ]
    for p, x, y in zip(pts, xs, ys, strict=True):
        cx, cy = x * scale + x_off, y_off - y * scale
        r = 4 + 6 * float(p.get("size") or 0)
        cls = "" if p.get("precise", True) else ' class="approx"'
        dot = (
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}"{cls} '
            f'data-siret="{escape(str(p.get("siret") or ""))}">'
            f"<title>{escape(p['label'])}</title></circle>"
        )
        out.append(f'<a href="{escape(p["href"])}">{dot}</a>' if p.get("href") else dot)
    out.append("</svg>")
    if any(not p.get("precise", True) for p in pts):
        out.append(
            '<p class="note">Points clairs : position approximative (centre de la commune).</p>'
        )
    return "".join(out)


# Background tiles when the page is online (OpenStreetMap's, with its attribution); the
# points never depend on them: offline, the map shows the points alone and says so.
TILE_URL = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def map_html(points: list[dict[str, Any]], width: int = 640) -> str:
    """The map block: the points as JSON for Leaflet (vendored in assets/vendor/leaflet,
    see scripts/vendor_leaflet.py) around the SVG drawing, which is what shows without
    JavaScript and what prints."""
    import json

    pts = [p for p in points if p.get("lat") is not None and p.get("lon") is not None]
    data = [
        {
            "s": p.get("siret") or "",
            "la": round(p["lat"], 6),
            "lo": round(p["lon"], 6),
            "l": p["label"],
            "h": p.get("href") or "",
            "p": bool(p.get("precise", True)),
            "z": round(float(p.get("size") or 0), 2),
        }
        for p in pts
    ]
    attr = escape(json.dumps(data, ensure_ascii=False), quote=True)
    return (
        f'<div class="carte-bloc" data-carte="{attr}" data-tuiles="{escape(TILE_URL)}">'
        f"{map_svg(points, width)}</div>"
    )


def _points(rows: list[dict[str, Any]], href: str) -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for r in rows:
        if r["siret"] in seen:
            continue
        seen[r["siret"]] = {
            "lat": r.get("latitude"),
            "lon": r.get("longitude"),
            "precise": r.get("geo_precise"),
            "siret": r["siret"],
            "label": f"{r['name']} — {r.get('commune') or ''} ({r['hiring_potential']}/100)"
            + ("" if r.get("geo_precise") else " — position approximative"),
            "href": href.format(siret=r["siret"]),
            "size": (r["hiring_potential"] or 0) / 100,
        }
    return list(seen.values())


def write_agency_pages(
    site_dir: Path,
    agency: dict[str, Any],
    records: list[dict[str, Any]],
    fiches: list[dict[str, Any]],
    common: dict[str, Any],
    notes: dict[str, dict[str, Any]] | None = None,
) -> int:
    """The agency page, and two pages that draw any of its lists (`liste.html#D1507`; a
    short one says so and how to widen it) and any of its companies (`fiche.html#SIRET`)
    from the agency's data files; returns the files written. `records`: the agency's
    targets rows in list order (`ciblage.publish.exports.sorted_records`).

    Lines and fiches are data that site.js draws, a few files per agency: a national run
    publishes millions of lines, and one page per list and per company meant a template
    render per line and millions of files."""
    notes = notes or {}
    base = site_dir / "agences" / agency["code"]
    ctx = {**common, "root": "../../"}
    romes = []
    trades = []
    for code, group in groupby(records, key=itemgetter("code_rome")):
        raw = list(group)
        label = raw[0]["rome_label"]
        romes.append(
            {
                "code_rome": code,
                "rome_label": label,
                "n": len(raw),
                "best_name": raw[0]["name"],
                "best_potential": raw[0]["hiring_potential"],
                "short": code in notes,
            }
        )
        trades.append(list_data(code, label, raw, notes.get(code)))
    render(
        "agence.html.j2",
        base / "index.html",
        agency=agency,
        # the trades with the most real targets first (then the best one's potential): an
        # agency has dozens of trades, most with one or two companies
        romes=sorted(romes, key=lambda r: (-r["n"], -r["best_potential"], r["code_rome"])),
        map_svg=map_html(_points(records, FICHE_HREF)),
        **ctx,
    )
    index = write_list_files(base / "listes", trades)
    render("liste.html.j2", base / "liste.html", agency=agency, index=index, **ctx)
    files = write_fiche_files(base / "fiches", fiches)
    render("fiche.html.j2", base / "fiche.html", agency=agency, files=files, **ctx)
    return 3 + len(set(index.values())) + files


def write_index(
    site_dir: Path, agencies: list[dict[str, Any]], common: dict[str, Any], impact: str | None
) -> Path:
    copy_assets(site_dir)
    return render(
        "index.html.j2",
        site_dir / "index.html",
        agencies=sorted(agencies, key=lambda a: a["code"]),
        n_lists=sum(a["lists"] for a in agencies),
        impact=impact,
        root="",
        **common,
    )
