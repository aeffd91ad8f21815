"""The SIRENE zips' members inflated by ISA-L: the same bytes as zipfile, and damage seen."""

from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest

from ciblage import formats
from ciblage.ingest import IngestError
from ciblage.ingest.readers import read_tabular
from ciblage.ingest.specs import SIRENE_ETABLISSEMENT
from ciblage.ingest.zip_member import open_member

from .files import etab_row, etab_zip, siret


def _payload(n: int = 3_000_000) -> bytes:
    """Several MB, half compressible text and half noise, so that the member spans many
    1 MB reads and inflated chunks of uneven size."""
    rng = random.Random(4)
    words = [b"SIRET", b"ORLEANS", b"45234", b"true", b"\n", b",", b"[ND]"]
    text = b"".join(rng.choice(words) for _ in range(n // 6))
    return text + rng.randbytes(n - len(text))


def _zip(path: Path, data: bytes, method: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", method) as zf:
        zf.writestr("x.csv", b"head")  # a first member: the second one starts past offset 0
        zf.writestr("data.csv", data)
    return path


def _read_all(path: Path, member: str = "data.csv", size: int = 65_536) -> bytes:
    with zipfile.ZipFile(path) as zf, open_member(zf, path, member) as stream:
        parts = []
        while chunk := stream.read(size):
            parts.append(chunk)
    return b"".join(parts)


@pytest.mark.parametrize("method", [zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED])
def test_member_bytes_equal_zipfile(tmp_path: Path, method: int) -> None:
    data = _payload()
    path = _zip(tmp_path / "a.zip", data, method)
    assert _read_all(path) == data
    assert _read_all(path, "x.csv") == b"head"


def _damage(path: Path, at: float) -> None:
    """Flip one byte of the member's compressed data, `at` of the way through it."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("data.csv")
    raw = bytearray(path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + int(info.compress_size * at)] ^= 0x55
    path.write_bytes(bytes(raw))


def test_damaged_member_is_refused(tmp_path: Path) -> None:
    refused = 0
    for at in (0.1, 0.5, 0.9, 0.999):
        path = _zip(tmp_path / f"d{at}.zip", _payload())
        _damage(path, at)
        with pytest.raises((zipfile.BadZipFile, EOFError)):
            _read_all(path)
        refused += 1
    assert refused == 4


def test_member_ending_early_is_refused(tmp_path: Path) -> None:
    """A central directory giving fewer compressed bytes than the deflate stream needs."""
    path = _zip(tmp_path / "c.zip", _payload())
    with zipfile.ZipFile(path) as zf:
        zf.getinfo("data.csv").compress_size -= 100
        with pytest.raises(EOFError), open_member(zf, path, "data.csv") as stream:
            while stream.read(1 << 20):
                pass


def test_damaged_sirene_zip_names_the_file(tmp_path: Path) -> None:
    rows = [etab_row(siret("44318460", f"{i:04d}")) for i in range(2000)]
    path = etab_zip(tmp_path / formats.SIRENE_ETABLISSEMENT_ZIP, rows)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(formats.SIRENE_ETABLISSEMENT_CSV)
    raw = bytearray(path.read_bytes())
    raw[info.header_offset + 30 + len(info.filename) + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IngestError, match="archive tronquée ou corrompue") as err:
        list(read_tabular(path, SIRENE_ETABLISSEMENT))
    assert formats.SIRENE_ETABLISSEMENT_ZIP in err.value.file
