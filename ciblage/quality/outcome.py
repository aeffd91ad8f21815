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

    def message(self) -> str:
        """An operator-facing summary: which field broke which rule, where, with examples."""
        where = f"source '{self.source}'"
        if self.file:
            where += f" (file {self.file})"
        if self.passed:
            head = (
                f"Data quality passed for {where}: {len({r.check for r in self.results})} "
                f"checks on {self.rows:,} rows in {max(self.partitions, 1)} partition(s)"
            )
            warnings = self._describe(self.failures)
            return head + (".\nWarnings (non-critical):\n" + warnings if warnings else ".")
        crit = self._describe(self.critical_failures)
        text = (
            f"Data quality check failed for {where}: "
            f"{len({r.check for r in self.critical_failures})} critical check(s) failed; "
            f"the load of '{self.source}' is stopped and the previous good data is kept.\n" + crit
        )
        minor = [r for r in self.failures if not r.check.critical]
        if minor:
            text += "\nWarnings (non-critical):\n" + self._describe(minor)
        return text

    def _describe(self, results: list[CheckResult]) -> str:
        by_check: dict[Check, list[CheckResult]] = defaultdict(list)
        for r in results:
            by_check[r.check].append(r)
        lines = []
        for check, rs in by_check.items():
            subject = f"field '{check.column}'" if check.column else "table"
            line = f"  - {subject} {check.describe()}: "
            if all(r.partition == WHOLE_TABLE for r in rs):
                line += rs[0].observed
            else:
                every = [r for r in self.results if r.check == check]
                bad = sum(r.unexpected_count for r in every)
                total = sum(r.element_count for r in every)
                parts = [r.partition for r in rs]
                shown = ", ".join(parts[:8]) + (f", … +{len(parts) - 8}" if len(parts) > 8 else "")
                verb = "are empty" if check.kind == "not_null" else "fail"
                line += (
                    f"{bad:,} of {total:,} values {verb} ({100.0 * bad / max(total, 1):.2f} %), "
                    f"below threshold in {len(parts)} of {len(every)} partition(s) "
                    f"by {self.partition_by} ({shown})"
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
                line += "; examples: " + ", ".join(example_text(check, e) for e in examples)
            if rows:
                line += " (lines " + ", ".join(str(n) for n in rows) + ")"
            lines.append(line)
        return "\n".join(lines)


def example_text(check: Check, value: str) -> str:
    """A failing value as messages show it; a refused SIREN/SIRET says why (« 13 chiffres
    au lieu de 14 »), since a lost digit and a wrong check digit call for different fixes."""
    if check.kind == "luhn":
        why = siret_problem(value, identifier_length(check.column))
        if why:
            return f"{value!r} ({why})"
    return repr(value)
