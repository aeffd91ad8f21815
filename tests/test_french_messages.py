"""User-facing lines are French (issue 13): a run's last line, its summary, `status`, the
warehouse-lock refusal, the run report. Fast: no Prefect flow runs, no server starts.

Each test fails if one of these lines goes back to English (`french_text.assert_french`).
"""

from __future__ import annotations

import fcntl
import os
from datetime import datetime
from pathlib import Path

import pytest
import typer
from french_text import assert_french
from typer.testing import CliRunner

from ciblage.cli import _finish_run, app
from ciblage.cli_errors import friendly
from ciblage.gates import GateCheck, GateReport
from ciblage.lock import WarehouseLockTimeout, _acquire, lock_path
from ciblage.outcome import EXIT_NOT_PUBLISHED, judge_sources, status_fr
from ciblage.status import _block, _fmt_stage


def test_a_crashed_run_ends_on_one_french_line_exit_1(capsys) -> None:
    def crash() -> dict:
        raise RuntimeError("pas de table score_etablissement_rome")

    with pytest.raises(typer.Exit) as end:
        _finish_run(crash)
    assert end.value.exit_code == EXIT_NOT_PUBLISHED
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("NON PUBLIÉ : le run s'est arrêté sur RuntimeError : pas de table")
    assert_french(last.replace("RuntimeError", ""))


def test_run_summary_line_is_french() -> None:
    from pipelines.nightly import summary_line

    result = {
        "run_id": "r1",
        "stages": {
            "ingest": {"status": "skipped", "reused_from": "r0"},
            "score": {"status": "completed", "seconds": 12.4},
            "publish": {"status": "blocked", "seconds": 3.25},
        },
        "publish": {},
    }
    line = summary_line(result)
    assert line == (
        "run r1 : ingest réutilisé, score terminé (12 s), publish bloqué (3,2 s) ; "
        "sortie : rien de nouveau publié"
    )
    assert_french(line)


def test_source_verdict_is_french() -> None:
    summary = {
        "sources": {
            "sirene_etablissement": {"status": "failed", "message": "x.zip ligne 12"},
            "dpae_departement": {"status": "stale", "message": "trimestre 2025-03-31"},
        }
    }
    message = judge_sources(summary).message() or ""
    assert message == (
        "source(s) obligatoire(s) en échec : sirene_etablissement en échec (x.zip ligne 12) | "
        "source(s) facultative(s) sur leur dernier chargement réussi : "
        "dpae_departement périmée (trimestre 2025-03-31)"
    )
    assert_french(message)


def test_run_report_is_french(tmp_path: Path) -> None:
    checks = [
        GateCheck("scored_establishments", "dep:45", 0.5, "0.8 <= r <= 1.25", False, "peu"),
        GateCheck("outputs_complete", "run", None, "lisible", False, "targets.parquet absent"),
    ]
    report = GateReport("r2", str(tmp_path), "r1", checks, published=False)
    report.warnings = ["dpae_departement périmée"]
    text = report.to_markdown()
    assert text.startswith("# Rapport du run r2\n\n- NON PUBLIÉ : les listes précédentes (r1)")
    # gate and file names stay as they are; everything else is French
    assert_french(text.replace("scored_establishments", "").replace("outputs_complete", ""))
    assert_french(report.summary().replace("scored_establishments", ""))


def test_status_block_is_french() -> None:
    run = {
        "run_id": "20261127T181423",
        "flows": "nightly",
        "status": "interrupted",
        "seconds": 42.0,
        "started": datetime(2026, 11, 27, 18, 14, 23),
        "as_of": "2026-11-01",
        "territory": "dep:45",
        "stages": {
            "ingest": {"status": "completed", "rows_out": 1234567, "seconds": 30.0},
            "score": {"status": "interrupted", "rows_out": None, "seconds": None},
        },
        "dq": "ok (12 contrôles)",
        "stale_sources": ["Données DPAE du 01/10/2026 : le chargement du 27/11 a échoué"],
        "model": None,
        "coverage": "dpae_departement 0 % SOUS LE SEUIL",
        "published": "NON publié : scores_snapshot en échec pour run : aucune donnée",
        "error": "processus disparu (tué ou planté) pendant le run",
    }
    lines = [text for text, _ in _block(run, "20261127T181423")]
    assert lines[0] == "20261127T181423  nightly  INTERROMPU  42.0s"
    assert lines[1].startswith("  démarré 2026-11-27 18:14:23 UTC | données au 2026-11-01 |")
    assert "  ingest   terminé, 1 234 567 lignes, 30.0s" in lines
    assert_french("\n".join(lines).replace("scores_snapshot", ""))
    assert _fmt_stage({"status": "skipped", "rows_out": 3, "seconds": 1.0}) == (
        "réutilisé, 3 lignes, 1.0s"
    )
    assert status_fr("degraded") == "dégradé" and status_fr("brand-new") == "brand-new"


def test_status_without_warehouse_is_french(tmp_path: Path) -> None:
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text('[paths]\nwarehouse = "wh/c.duckdb"\n', encoding="utf-8")
    res = CliRunner().invoke(app, ["status", "-c", str(cfg)])
    assert res.exit_code == 0
    assert res.output.startswith("pas encore d'entrepôt à ") and "aucun run" in res.output
    assert_french(res.output)


def test_warehouse_lock_timeout_is_one_french_line_exit_1(tmp_path: Path, capsys) -> None:
    path = lock_path(tmp_path / "c.duckdb")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"run_id": "nightly-A", "flow": "nightly", "pid": 1, "host": "h"}')
    holder, waiter = os.open(path, os.O_RDWR), os.open(path, os.O_RDWR)
    try:
        fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(WarehouseLockTimeout) as err:
            _acquire(waiter, path, timeout_s=0, poll_s=0.01, remind_s=60, log=lambda _: None)
    finally:
        os.close(waiter)
        os.close(holder)
    message = str(err.value)
    assert message.startswith("abandon après 0 s d'attente : le run nightly-A (nightly, pid 1")
    assert "tient le verrou de l'entrepôt" in message
    line = _friendly_line(err.value, capsys)
    assert line.startswith("erreur : abandon après") and "\n" not in line
    assert_french(line)


def _friendly_line(exc: BaseException, capsys) -> str:
    """What an operator command (`friendly`) prints when `exc` stops it: exit code 1."""

    @friendly
    def command() -> None:
        raise exc

    with pytest.raises(typer.Exit) as end:
        command()
    assert end.value.exit_code == EXIT_NOT_PUBLISHED
    return capsys.readouterr().err.strip()


def test_a_stopped_load_says_why_in_french() -> None:
    """The quality gate's refusal and a reader's error reach the ingest table and a run's
    last line; the log keeps the English message."""
    from ciblage.ingest.readers import IngestError
    from ciblage.quality import Check, CheckResult, QualityOutcome

    check = Check.luhn("siret")
    result = CheckResult(check, "all", False, "2 of 5 values fail", 2, 5, ("1234",), (3,))
    outcome = QualityOutcome("r", "sirene_etablissement", "stg", file="x.zip", results=[result])
    text = outcome.message(french=True)
    assert text.startswith(
        "Contrôle de qualité des données en échec pour source 'sirene_etablissement' "
        "(fichier x.zip) : 1 contrôle(s) critique(s) en échec ;"
    )
    assert "champ 'siret' (SIREN/SIRET valide" in text and "(lignes 3)" in text
    assert_french(text)
    assert outcome.message().startswith("Data quality check failed")  # the log line
    error = IngestError("fichier vide", file="x.csv", row=1, field="siret")
    assert str(error) == "fichier x.csv, ligne 1, champ 'siret' : fichier vide"


@pytest.mark.parametrize(
    ("args", "french"),
    [
        ([], "Codes de sortie : 0 publié (ou terminé), 1 échec / non publié, 2 erreur"),
        (["rerun"], "Entreprises par liste."),
        (["match"], "Commune du demandeur d'emploi : code INSEE, code postal ou nom"),
        (["fetch-offres"], "Collecter les offres de l'API Offres d'emploi v2"),
    ],
)
def test_help_is_french(args: list[str], french: str, monkeypatch) -> None:
    """Our help texts and Typer's frame around them (help option, panel titles)."""
    monkeypatch.setenv("COLUMNS", "200")
    res = CliRunner().invoke(app, [*args, "--help"])
    assert res.exit_code == 0
    text = " ".join(res.output.replace("│", " ").split())
    assert french in text
    assert "Usage : " in text and "Afficher cette aide et quitter." in text
    for english in (
        "Exit codes",
        "Path to ciblage.toml",
        "Companies per list",
        "job seeker",
        "Show this message",
        "Usage:",
        "[default:",
        "[required]",
        "Commands",
        "completion for",
    ):
        assert english not in text


@pytest.mark.parametrize(
    ("reason", "french"),
    [
        (
            "no back-test (not enough history): the model cannot be verified",
            "pas de back-test (historique insuffisant) : le modèle ne peut pas être vérifié",
        ),
        ("failed: calibration_ratio", "contrôle échoué : ratio de calibration"),
        (
            "failed: calibration_ratio, max_prediction, ranking_vs_baseline",
            "contrôles échoués : ratio de calibration, prédiction maximale, "
            "classement face à la référence",
        ),
        (
            "a prediction above the plausibility bound at scoring time",
            "une prédiction au-dessus de la borne de plausibilité au moment du score",
        ),
        (
            "failed at scoring: max_prediction 812.3 > bound 80.0",
            "une prédiction au-dessus de la borne de plausibilité au moment du score",
        ),
    ],
)
def test_model_gate_refusal_reads_in_french(reason: str, french: str) -> None:
    """The gate stores English reasons made of check names (registries written before
    stay readable); what `status` shows is French, computed when it is shown."""
    from ciblage.status import _model_line
    from scoring.model_gate import evaluate_gate, reason_fr

    assert reason_fr(reason) == french
    assert_french(french)
    row = {"params": {"gate": {"passed": False, "reason": reason}}, "message": "model m1"}
    line = _model_line(row)
    assert line == f"m1, MODÈLE REFUSÉ ({french}) : listes classées par la référence"
    assert_french(line)
    # what the gate writes today reads the same way
    assert reason_fr(evaluate_gate({}, 5.0, None)["reason"]) == reason_fr(
        "no back-test (not enough history): the model cannot be verified"
    )


def test_model_refused_without_a_reason_still_reads_in_french() -> None:
    from ciblage.status import _model_line

    line = _model_line({"params": {"gate": {"passed": False}}, "message": "model m1"})
    assert "raison non enregistrée" in line
    assert_french(line)


def _stored_model(tmp_path: Path, features: list[str] | None = None) -> Path:
    """A model folder as `save_model` writes it; `load_model` checks it before reading."""
    import hashlib
    import json

    from scoring.features import FEATURES

    path = tmp_path / "models" / "hgb-x" / "model.skops"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"skops")
    meta = {
        "sha256": hashlib.sha256(b"skops").hexdigest(),
        "features": list(FEATURES) if features is None else features,
    }
    (path.parent / "metadata.json").write_text(json.dumps(meta), encoding="utf-8")
    return path


@pytest.mark.parametrize("tamper", ["file", "features"])
def test_a_refused_model_file_is_one_french_line_naming_it(
    tamper: str, tmp_path: Path, capsys
) -> None:
    from scoring.model import ModelIntegrityError, load_model

    path = _stored_model(tmp_path, ["siret_age"] if tamper == "features" else None)
    if tamper == "file":
        path.write_bytes(b"skops, changed")
    with pytest.raises(ModelIntegrityError) as err:
        load_model(path)
    message = str(err.value)
    assert message.startswith(f"modèle {path} refusé : ")
    assert ("empreinte sha256" if tamper == "file" else "d'autres variables") in message
    assert_french(message)
    assert _friendly_line(err.value, capsys) == f"erreur : {message}"

    @friendly
    def other() -> None:
        raise ValueError("not a model")

    with pytest.raises(ValueError, match="not a model"):  # any other error is not hidden
        other()
