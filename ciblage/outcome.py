"""How a run ended, said the same way by its exit code, its ledger, its report and its last line.

A failing source used to end in « ingest completed », exit 0 and a new `latest`: a cron
job or a deployment watching exit codes saw success while agencies got lists built on
stale data. This module turns the ingest summary into a verdict that every surface
shares:

- a **required** source (referentials, SIRENE) failed: the run stops after ingestion,
  nothing is published, the previous lists stay (`failed`, exit 1);
- an **optional** source (geolocation, DPAE, per-SIRET hires, offers) that is configured
  failed, is missing or is stale: the lists are published on its last good load, marked
  `degraded` with the reason (exit 3);
- the publication gates refused the lists (`blocked`, exit 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Exit codes of `ciblage run` / `rerun` / `ingest` (README "Operations").
EXIT_PUBLISHED = 0
EXIT_NOT_PUBLISHED = 1  # a required source failed, the gates refused, or the run crashed
EXIT_USAGE = 2  # a mistake in the command line or the configuration: nothing ran
EXIT_DEGRADED = 3  # published, but on the last good load of an optional source

PROBLEM_STATUSES = ("failed", "missing", "stale")

# What the user reads for a status (the ledger and the code keep the English values).
# A source's load (feminine: « la source ... »):
SOURCE_STATUS_FR = {
    "loaded": "chargée",
    "unchanged": "inchangée",
    "failed": "en échec",
    "stale": "périmée",
    "missing": "absente",
}
# A run or a stage:
STATUS_FR = {
    "completed": "terminé",
    "published": "publié",
    "degraded": "dégradé",
    "failed": "échec",
    "blocked": "bloqué",
    "interrupted": "interrompu",
    "running": "en cours",
    "skipped": "réutilisé",
}


def status_fr(status: str | None) -> str:
    """The French word for a run or stage status (unknown values as they are)."""
    return STATUS_FR.get(status or "", status or "?")


class RunNotPublished(RuntimeError):
    """The run ended without publishing; `line` is what the operator reads last."""

    def __init__(self, line: str, result: dict[str, Any] | None = None) -> None:
        super().__init__(line, result)
        self.line = line
        self.result = result or {}

    def __str__(self) -> str:
        return self.line


@dataclass
class SourceVerdict:
    """Problems of one ingest run, split by what they mean for publication."""

    failed_required: list[str] = field(default_factory=list)
    degraded: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.failed_required:
            return "failed"
        return "degraded" if self.degraded else "completed"

    def message(self) -> str | None:
        parts = []
        if self.failed_required:
            parts.append("source(s) obligatoire(s) en échec : " + " ; ".join(self.failed_required))
        if self.degraded:
            parts.append(
                "source(s) facultative(s) sur leur dernier chargement réussi : "
                + " ; ".join(self.degraded)
            )
        return " | ".join(parts) or None


def _short(message: str | None, limit: int = 300) -> str:
    text = " ".join((message or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def judge_sources(summary: dict[str, Any], configured: set[str] | None = None) -> SourceVerdict:
    """Verdict of an ingest result (`ingest_flow`'s return value).

    An optional source that is not configured at all is a deployment choice, not a
    degradation (`hires_siret` is often absent), so it only counts when `configured`
    names it; without `configured`, every optional problem counts.
    """
    from ciblage.ingest.specs import registry

    specs = registry()
    verdict = SourceVerdict()
    for name, r in (summary.get("sources") or {}).items():
        status = r.get("status")
        cov = r.get("coverage") or {}
        if status not in PROBLEM_STATUSES and cov.get("ok") is False:
            # loaded, but informs (almost) no establishment (ciblage/quality/coverage.py)
            verdict.degraded.append(
                f"{name} renseigne {100 * cov['share']:.1f} % des établissements, sous son "
                f"seuil de couverture de {100 * cov['min_share']:.1f} % (échec critique de "
                "qualité des données)"
            )
            continue
        if status not in PROBLEM_STATUSES:
            continue
        spec = specs.get(name)
        line = f"{name} {SOURCE_STATUS_FR.get(status, status)} ({_short(r.get('message'))})"
        if spec is None or spec.required:
            verdict.failed_required.append(line)
        elif configured is None or name in configured:
            verdict.degraded.append(line)
    return verdict


def exit_code(outcome: str) -> int:
    """Exit code of a run outcome ('published', 'degraded', 'failed', 'blocked', ...)."""
    return {"published": EXIT_PUBLISHED, "degraded": EXIT_DEGRADED}.get(outcome, EXIT_NOT_PUBLISHED)
