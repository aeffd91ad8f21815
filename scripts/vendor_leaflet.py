"""Vendor Leaflet (the web-map library) from the npm registry into the site's assets.

The site is opened from a shared drive on agency workstations, often with no network:
the map library must ship with the site, not come from a CDN. This fetches the pinned
npm package with `npm pack` (npm checks it against the registry's integrity), checks it
against the integrity pinned here, and copies its built files (dist/leaflet.js,
leaflet.css, images, LICENSE) into reports/templates/site/assets/vendor/leaflet/, which
`ciblage publish` copies into every site. Run it again to update: change VERSION and
INTEGRITY (`npm view leaflet@X dist.integrity`).

    python scripts/vendor_leaflet.py
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "1.9.4"
INTEGRITY = (
    "sha512-nxS1ynzJOmOlHp+iL3FyWqK89GtNL8U8rvlMOsQdTTssxZwCXh8N2NB3GDQOL+YR3XnWyZAxwQixURb"
    "+FA74PA=="
)
TARGET = Path(__file__).resolve().parent.parent / "reports/templates/site/assets/vendor/leaflet"
FILES = ("dist/leaflet.js", "dist/leaflet.css", "LICENSE")


def integrity(path: Path) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(path.read_bytes()).digest()).decode()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            ["npm", "pack", f"leaflet@{VERSION}", "--pack-destination", tmp],
            check=True,
            capture_output=True,
        )
        tgz = Path(tmp) / f"leaflet-{VERSION}.tgz"
        if integrity(tgz) != INTEGRITY:
            print(f"{tgz.name}: integrity {integrity(tgz)} != pinned {INTEGRITY}", file=sys.stderr)
            return 1
        with tarfile.open(tgz) as tar:
            tar.extractall(tmp, filter="data")
        pkg = Path(tmp) / "package"
        if TARGET.exists():
            shutil.rmtree(TARGET)
        (TARGET / "images").mkdir(parents=True)
        for rel in FILES:
            shutil.copy2(pkg / rel, TARGET / Path(rel).name)
        for png in sorted((pkg / "dist" / "images").glob("*.png")):
            shutil.copy2(png, TARGET / "images" / png.name)
        (TARGET / "VERSION").write_text(f"leaflet {VERSION} {INTEGRITY}\n", encoding="utf-8")
    print(f"leaflet {VERSION} -> {TARGET}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
