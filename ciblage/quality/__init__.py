"""Data-quality gate of the ingestion: Great Expectations checks, dq_result, report.

The ingestion declares `Check`s per source and calls `validate_table` on its staging
table; a critical failure (`not outcome.passed`) stops that source's load.

The validation, the report and the vectorised Luhn test are loaded on first use (PEP 562
`__getattr__`): they pull pandas and Great Expectations, which a command that only reads
the source specs (every command's preflight) or publishes lists does not need.
"""

from importlib import import_module
from typing import Any

from ciblage.quality.checks import Check, CheckError
from ciblage.quality.outcome import CheckResult, QualityError, QualityOutcome

_LAZY = {
    "is_valid_siret": "ciblage.quality.luhn",
    "luhn_valid": "ciblage.quality.luhn",
    "render_quality_report": "ciblage.quality.report",
    "validate_table": "ciblage.quality.validate",
}

__all__ = [
    "Check",
    "CheckError",
    "CheckResult",
    "QualityError",
    "QualityOutcome",
    "is_valid_siret",
    "luhn_valid",
    "render_quality_report",
    "validate_table",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ciblage.quality' has no attribute {name!r}")
