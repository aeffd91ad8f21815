"""What a validation found, and the message an operator reads when a load is stopped."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from ciblage.quality.checks import Check
from ciblage.siret import identifier_length, siret_problem

MAX_EXAMPLES = 5
WHOLE_TABLE = "all"


class QualityError(RuntimeError):
    """A critical data-quality check failed: the source's load must stop."""

    def __init__(self, outcome: QualityOutcome) -> None:
        super().__init__(outcome.message())
        self.outcome = outcome


@dataclass(frozen=True)
class CheckResult:
    """One check on one partition (WHOLE_TABLE when the table is not partitioned)."""

    check: Check
    partition: str
    success: bool
    observed: str
    unexpected_count: int = 0
    element_count: int = 0
    examples: tuple[str, ...] = ()
    example_rows: tuple[int, ...] = ()
    details: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass
class QualityOutcome:
    run_id: str
    source: str
    table: str
    file: str | None = None
    partition_by: str | None = None
    partitions: int = 0
    rows: int = 0
    results: list[CheckResult] = field(default_factory=list)

    @property
    def failures(self) -> list[CheckResult]:
        return [r for r in self.results if not r.success]

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [r for r in self.failures if r.check.critical]

    @property
    def passed(self) -> bool:
        """No critical check failed (non-critical failures are warnings)."""
        return not self.critical_failures

    def raise_for_failure(self) -> None:
        if not self.passed:
            raise QualityError(self)

    def message(self, french: bool = False) -> str:
        """An operator-facing summary: which field broke which rule, where, with examples.

        English for the logs; `french=True` for what the user reads (the load's failure
        in `ciblage ingest` / `run`, their last line, `status`)."""
        w = _WORDS[french]
        where = f"source '{self.source}'"
        if self.file:
            where += f" ({w['file']} {self.file})"
        n_checks = len({r.check for r in self.results})
        if self.passed:
            head = w["passed"].format(
                where=where,
                checks=n_checks,
                rows=_count(self.rows, french),
                partitions=max(self.partitions, 1),
            )
            warnings = self._describe(self.failures, french)
            return head + (f".\n{w['warnings']}\n" + warnings if warnings else ".")
        crit = self._describe(self.critical_failures, french)
        text = (
            w["failed"].format(
                where=where,
                critical=len({r.check for r in self.critical_failures}),
                source=self.source,
            )
            + "\n"
            + crit
        )
        minor = [r for r in self.failures if not r.check.critical]
        if minor:
            text += f"\n{w['warnings']}\n" + self._describe(minor, french)
        return text

    def _describe(self, results: list[CheckResult], french: bool = False) -> str:
        from ciblage.quality import wording

        w = _WORDS[french]
        by_check: dict[Check, list[CheckResult]] = defaultdict(list)
        for r in results:
            by_check[r.check].append(r)
        lines = []
        for check, rs in by_check.items():
            subject = f"{w['field']} '{check.column}'" if check.column else "table"
            if french:
                line = f"  - {subject} ({_check_fr(check)}) : "
            else:
                line = f"  - {subject} {check.describe()}: "
            if all(r.partition == WHOLE_TABLE for r in rs):
                r = rs[0]
                found = r.observed
                if french and not r.details.get("error"):
                    found = wording.observed(
                        check.expectation, r.unexpected_count, r.element_count, r.details
                    )
                line += found or r.observed
            else:
                every = [r for r in self.results if r.check == check]
                bad = sum(r.unexpected_count for r in every)
                total = sum(r.element_count for r in every)
                parts = [r.partition for r in rs]
                shown = ", ".join(parts[:8]) + (f", … +{len(parts) - 8}" if len(parts) > 8 else "")
                line += w["partitions"].format(
                    bad=_count(bad, french),
                    total=_count(total, french),
                    verb=w["empty" if check.kind == "not_null" else "fail"],
                    pct=f"{100.0 * bad / max(total, 1):.2f}",
                    parts=len(parts),
                    every=len(every),
                    by=self.partition_by,
                    shown=shown,
                )
            examples: list[str] = []
            rows: list[int] = []
            for r in rs:
                for i, ex in enumerate(r.examples):
                    if ex not in examples and len(examples) < MAX_EXAMPLES:
                        examples.append(ex)
                        if i < len(r.example_rows):
                            rows.append(r.example_rows[i])
            if examples:
                line += w["examples"] + ", ".join(example_text(check, e) for e in examples)
            if rows:
                line += f" ({w['lines']} " + ", ".join(str(n) for n in rows) + ")"
            lines.append(line)
        return "\n".join(lines)


def _check_fr(check: Check) -> str:
    """What the check requires, in French (`Check.describe` is the logs' English)."""
    from ciblage.quality import wording

    if check.kind == "row_count_ratio":
        return f"au moins {wording.fr_pct(float(check.arg), 0)} des lignes du chargement précédent"
    what = wording.describe(check.expectation, check.arg)
    if check.mostly >= 1.0:
        return what
    return f"{what}, pour au moins {wording.fr_pct(check.mostly)} des valeurs"


def _count(n: int, french: bool) -> str:
    """1,234 (English) / 1 234 (French)."""
    return f"{n:,}".replace(",", " ") if french else f"{n:,}"


# Words of `QualityOutcome.message`: English for the logs, French for the user.
_WORDS = {
    False: {
        "file": "file",
        "field": "field",
        "passed": "Data quality passed for {where}: {checks} checks on {rows} rows in "
        "{partitions} partition(s)",
        "failed": "Data quality check failed for {where}: {critical} critical check(s) failed; "
        "the load of '{source}' is stopped and the previous good data is kept.",
        "warnings": "Warnings (non-critical):",
        "partitions": "{bad} of {total} values {verb} ({pct} %), below threshold in {parts} of "
        "{every} partition(s) by {by} ({shown})",
        "empty": "are empty",
        "fail": "fail",
        "examples": "; examples: ",
        "lines": "lines",
    },
    True: {
        "file": "fichier",
        "field": "champ",
        "passed": "Qualité des données conforme pour {where} : {checks} contrôle(s) sur {rows} "
        "lignes en {partitions} partition(s)",
        "failed": "Contrôle de qualité des données en échec pour {where} : {critical} "
        "contrôle(s) critique(s) en échec ; le chargement de '{source}' est arrêté et les "
        "dernières données valides sont conservées.",
        "warnings": "Avertissements (non critiques) :",
        "partitions": "{bad} valeurs {verb} sur {total} ({pct} %), au-delà du seuil dans "
        "{parts} partition(s) sur {every} par {by} ({shown})",
        "empty": "vides",
        "fail": "en échec",
        "examples": " ; exemples : ",
        "lines": "lignes",
    },
}


def example_text(check: Check, value: str) -> str:
    """A failing value as messages show it; a refused SIREN/SIRET says why (« 13 chiffres
    au lieu de 14 »), since a lost digit and a wrong check digit call for different fixes."""
    if check.kind == "luhn":
        why = siret_problem(value, identifier_length(check.column))
        if why:
            return f"{value!r} ({why})"
    return repr(value)
