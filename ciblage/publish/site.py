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
from math import cos, radians
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ciblage.config import PROJECT_ROOT
from ciblage.publish import fmt

if TYPE_CHECKING:
    import polars as pl

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


def _display_row(r: dict[str, Any]) -> dict[str, Any]:
    offers = r.get("last_offers") or []
    return {
        **r,
        "stars_text": fmt.stars(r["stars"]),
        "expected_fr": fmt.hires_band(r["expected_hires_6m"]),
        "flags": fmt.flags(r),
        "last_offer": fmt.offer_text(offers[0]) if offers else "",
        "last_offer_sort": offers[0]["date_offre"].isoformat() if offers else "",
    }


def fiche_context(f: dict[str, Any]) -> dict[str, Any]:
    lists = [
        {**x, "stars_text": fmt.stars(x["stars"]), "expected_fr": fmt.hires_band(x["expected"])}
        for x in f["lists"]
    ]
    return {**f, "lists": lists, "date_creation_fr": fmt.fr_date(f.get("date_creation"))}


def write_fiche_page(
    path: Path, f: dict[str, Any], common: dict[str, Any], agency: dict[str, Any] | None
) -> Path:
    one = _points([f], "")
    svg = map_html(one, width=360) if one and one[0]["lat"] is not None else ""
    return render("fiche.html.j2", path, f=fiche_context(f), agency=agency, map_svg=svg, **common)


def write_agency_pages(
    site_dir: Path,
    agency: dict[str, Any],
    rows: pl.DataFrame,
    fiches: list[dict[str, Any]],
    common: dict[str, Any],
    notes: dict[str, dict[str, Any]] | None = None,
) -> int:
    """Agency page, one page per ROME (a short one says so and how to widen it), one
    fiche per company; returns pages written."""
    notes = notes or {}
    base = site_dir / "agences" / agency["code"]
    ctx = {**common, "root": "../../"}
    romes = []
    all_rows = []
    for grp in rows.sort("code_rome", "rank").partition_by("code_rome", maintain_order=True):
        disp = [_display_row(r) for r in grp.iter_rows(named=True)]
        all_rows += disp
        rome = {"code_rome": disp[0]["code_rome"], "rome_label": disp[0]["rome_label"]}
        romes.append(
            {
                **rome,
                "n": len(disp),
                "best_name": disp[0]["name"],
                "best_potential": disp[0]["hiring_potential"],
                "short": rome["code_rome"] in notes,
            }
        )
        render(
            "rome.html.j2",
            base / f"{rome['code_rome']}.html",
            agency=agency,
            rome=rome,
            note=notes.get(rome["code_rome"]),
            rows=disp,
            map_svg=map_html(_points(disp, "fiches/{siret}.html")),
            **ctx,
        )
    render(
        "agence.html.j2",
        base / "index.html",
        agency=agency,
        # the trades with the most real targets first (then the best one's potential): an
        # agency has dozens of trades, most with one or two companies
        romes=sorted(romes, key=lambda r: (-r["n"], -r["best_potential"], r["code_rome"])),
        map_svg=map_html(_points(all_rows, "fiches/{siret}.html")),
        **ctx,
    )
    fctx = {**common, "root": "../../../"}
    for f in fiches:
        write_fiche_page(base / "fiches" / f"{f['siret']}.html", f, fctx, agency)
    return 1 + len(romes) + len(fiches)


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
