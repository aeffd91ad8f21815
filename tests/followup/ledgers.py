"""Small hand-made ledgers in the formats agencies send (CSV from French Excel, XLSX)."""

from __future__ import annotations

from pathlib import Path

from ciblage.sample.luhn import complete
from ciblage.sample.promotions import HEADER as PROMOTION_HEADER

HEADER = list(PROMOTION_HEADER)  # the columns the sample generator writes


SIRET_A = complete("4410000000001")
SIRET_B = complete("4420000000002")
SIRET_C = complete("4430000000003")


def write_csv(
    path: Path,
    rows: list[list[str]],
    header: list[str] = HEADER,
    sep: str = ";",
    bom: bool = True,
    encoding: str = "utf-8",
) -> Path:
    text = "\r\n".join(sep.join(r) for r in [header, *rows]) + "\r\n"
    data = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom and encoding == "utf-8" else b"") + data)
    return path


def promo_rows(spec: list[tuple[str, str, str, str, str]]) -> list[list[str]]:
    """Rows from (date JJ/MM/AAAA, agency, siret, ROME, outcome); one job seeker per row."""
    return [
        [d, agency, siret, rome, "c01", f"d{i:03d}", "mail", outcome, ""]
        for i, (d, agency, siret, rome, outcome) in enumerate(spec)
    ]


def settings_for(tmp_path: Path, as_of: str, followup: str = ""):  # noqa: ANN201
    from ciblage.config import load_settings

    cfg = tmp_path / "ciblage.toml"
    cfg.write_text(f'[run]\nas_of = "{as_of}"\n\n[followup]\n{followup}\n', encoding="utf-8")
    return load_settings(cfg)
