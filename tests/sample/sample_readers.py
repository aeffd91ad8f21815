"""Readers of the generated sample files, shared by the sample tests."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path


def read_zip_csv(path: Path, sep: str) -> tuple[list[str], list[str], list[list[str]]]:
    """(member names, header, rows) of a one-member zipped CSV."""
    with zipfile.ZipFile(path) as zf:
        members = zf.namelist()
        text = zf.read(members[0]).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text), delimiter=sep))
    return members, rows[0], rows[1:]


def read_csv(path: Path, sep: str = ";") -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8")), delimiter=sep))
    return rows[0], rows[1:]


def all_offers(sample: Path) -> list[dict]:
    offers = []
    for p in sorted((sample / "offres").glob("*.json")):
        offers.extend(json.loads(p.read_text(encoding="utf-8"))["resultats"])
    for p in sorted((sample / "offres").glob("*.jsonl")):
        offers.extend(json.loads(line) for line in p.read_text(encoding="utf-8").splitlines())
    return offers
