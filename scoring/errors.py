"""Errors of the scoring package that the CLI must recognise without importing it.

`ciblage.cli_errors` turns them into one French line; importing `scoring.model` for
that would load scikit-learn and skops on every command, `--help` included.
"""


class ModelIntegrityError(ValueError):
    """A persisted model that must not be used (changed file, other features); its
    message is French: it reaches the user (`ciblage score`, a run's last line)."""


class ReasonsUnavailable(ModelIntegrityError):
    """The model or the feature rows that explain a list's scores are gone (an as-of older
    than the last scoring, a deleted model); French message, one line at the CLI."""
