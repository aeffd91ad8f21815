from __future__ import annotations

from pathlib import Path

import duckdb
from typer.testing import CliRunner

from ciblage.cli import app

from .ledgers import SIRET_A, promo_rows, write_csv


def test_cli_import_prints_summary_and_rejected_rows(tmp_path: Path) -> None:
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text('[paths]\nwarehouse = "w.duckdb"\n[run]\nas_of = "2026-11-01"\n')
    rows = promo_rows([(d, "45A", SIRET_A, "M1607", "") for d in ("12/09/2026", "01/10/2026")])
    rows.append(["16/10/2026", "45A", SIRET_A, "M1607", "c01", "d9", "pigeon", "", ""])
    path = write_csv(tmp_path / "suivi.csv", rows)
    result = CliRunner().invoke(app, ["promotions", "import", str(path), "--config", str(cfg)])
    assert result.exit_code == 1, result.output
    assert "3 ligne(s) lue(s), 2 ajoutée(s)" in result.output
    assert "canal inconnu" in result.output and "pigeon" in result.output

    rows[-1][6] = "visite"
    write_csv(path, rows)
    result = CliRunner().invoke(app, ["promotions", "import", str(path), "--config", str(cfg)])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())  # rich wraps long lines
    assert "1 ajoutée(s), 0 corrigée(s), 2 déjà connue(s)" in out
    assert "entreprises en pause (sans réponse) : 1" in out
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM promotion_cooldown").fetchall() == [(1,)]


def test_cli_refuses_file_with_job_seeker_names(tmp_path: Path) -> None:
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text('[paths]\nwarehouse = "w.duckdb"\n')
    path = tmp_path / "suivi.csv"
    path.write_text("date_promotion;code_agence;siret;code_rome;id_demandeur;prenom\n")
    result = CliRunner().invoke(app, ["promotions", "import", str(path), "--config", str(cfg)])
    assert result.exit_code == 1
    assert "Fichier refusé" in result.output and "prenom" in result.output
