"""Data-quality gate of the ingestion: Great Expectations checks, dq_result, report.

The ingestion declares `Check`s per source and calls `validate_table` on its staging
table; a critical failure (`not outcome.passed`) stops that source's load.
"""

from ciblage.quality.checks import Check, CheckError
from ciblage.quality.luhn import is_valid_siret, luhn_valid
from ciblage.quality.outcome import CheckResult, QualityError, QualityOutcome
from ciblage.quality.report import render_quality_report
from ciblage.quality.validate import validate_table

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
