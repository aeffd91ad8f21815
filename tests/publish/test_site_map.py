"""Every list's map holds every company of the list, inside the drawing (issue 11)."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from ciblage.publish.site import map_svg
from ciblage.publish.target_files import read_targets

_CIRCLE = re.compile(r'<circle cx="([\d.-]+)" cy="([\d.-]+)" r="([\d.]+)"[^>]*data-siret="(\d+)"')
_VIEWBOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')


def _dots(html: str) -> tuple[dict[str, tuple[float, float, float]], tuple[int, int]]:
    w, h = (int(x) for x in _VIEWBOX.search(html).groups())
    return {s: (float(x), float(y), float(r)) for x, y, r, s in _CIRCLE.findall(html)}, (w, h)


def _inside(dots: dict, box: tuple[int, int]) -> bool:
    w, h = box
    return all(r <= x <= w - r and r <= y <= h - r for x, y, r in dots.values())


def test_agency_map_holds_all_its_companies(synth_published) -> None:
    """The agency page's map (SVG drawn here, Leaflet in the browser); the list pages'
    maps are drawn from the list files (test_site_data.py)."""
    run = Path(synth_published["run_dir"])
    targets = read_targets(run).filter(pl.col("territory_level") == "agence")
    assert targets["latitude"].null_count() == 0  # commune centre when no precise point
    for (code,), grp in targets.group_by("territory_code"):
        html = (run / "site" / "agences" / code / "index.html").read_text("utf-8")
        dots, box = _dots(html)
        assert set(dots) == set(grp["siret"]), code
        assert _inside(dots, box), code
        if not grp["geo_precise"].all():
            assert "position approximative" in html


def test_far_apart_points_stay_in_the_box() -> None:
    """A tall territory (the cause of points drawn below the box before)."""
    pts = [
        {"lat": 42.0 + i * 0.9, "lon": 2.0 + (i % 3) * 0.01, "label": "x", "siret": f"{i:014d}"}
        for i in range(10)
    ] + [{"lat": 47.0, "lon": 2.0, "label": "y", "siret": "9" * 14, "size": 1.0}]
    dots, box = _dots(map_svg(pts))
    assert len(dots) == 11 and _inside(dots, box)
    one, box1 = _dots(map_svg(pts[:1], width=360))
    assert len(one) == 1 and _inside(one, box1)
