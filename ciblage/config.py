"""One TOML file configures a deployment; every stage reads it through `load_settings`.

Paths in the file are relative to the file itself, so that the shipped `ciblage.toml`
works from any working directory and a deployment can keep its config beside its data.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "ciblage.toml"
CONFIG_ENV = "CIBLAGE_CONFIG"


class ConfigError(ValueError):
    """The configuration file is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class SourceConfig:
    """Where one source comes from: a local `path`, or an `url` downloaded under raw_dir."""

    name: str
    path: Path | None = None
    url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    config_path: Path
    warehouse: Path
    output: Path
    raw_dir: Path
    as_of: date
    horizon_months: int
    top_n: int
    sources: dict[str, SourceConfig]
    # Whole parsed file, so that stages can read their own sections ([scoring], [publish],
    # [followup], [gates], ...) without this module knowing every option.
    raw: dict[str, Any]

    def section(self, name: str) -> dict[str, Any]:
        """A stage's own table of options (empty when absent)."""
        value = self.raw.get(name, {})
        if not isinstance(value, dict):
            raise ConfigError(f"{self.config_path} : [{name}] doit être une table")
        return value

    def source(self, name: str) -> SourceConfig | None:
        return self.sources.get(name)


def _resolve(base: Path, value: str | None) -> Path | None:
    if value in (None, ""):
        return None
    p = Path(os.path.expanduser(str(value)))
    return p if p.is_absolute() else (base / p).resolve()


def _parse_date(value: Any, where: str) -> date:
    if value in (None, "", "today"):
        return date.today()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where} : date attendue au format AAAA-MM-JJ, reçu {value!r}") from exc


def _given(overrides: dict[str, Any], key: str, default: Any) -> Any:
    """An option given on the command line wins, even 0 (then refused by the bounds
    check, not silently replaced by the file's value)."""
    value = overrides.get(key)
    return default if value is None else value


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the config file; `overrides` (as_of, horizon_months, top_n) win over the file.

    The path defaults to $CIBLAGE_CONFIG, then the project's `ciblage.toml`.
    """
    cfg_path = Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG).resolve()
    if not cfg_path.is_file():
        raise ConfigError(f"fichier de configuration introuvable : {cfg_path}")
    try:
        raw = tomllib.loads(cfg_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{cfg_path} : TOML invalide : {exc}") from exc
    base = cfg_path.parent
    paths = raw.get("paths", {})
    run = raw.get("run", {})
    sources: dict[str, SourceConfig] = {}
    for name, spec in raw.get("sources", {}).items():
        if not isinstance(spec, dict):
            raise ConfigError(f"{cfg_path} : [sources.{name}] doit être une table")
        spec = dict(spec)
        src_path = _resolve(base, spec.pop("path", None))
        url = spec.pop("url", None)
        sources[name] = SourceConfig(name=name, path=src_path, url=url, options=spec)
    as_of = overrides.get("as_of") or run.get("as_of")
    # a value given on the command line is blamed on the option, not on the file
    as_of_from = "--as-of" if overrides.get("as_of") else f"{cfg_path} [run] as_of"
    settings = Settings(
        config_path=cfg_path,
        warehouse=_resolve(base, paths.get("warehouse", "data/warehouse/ciblage.duckdb")),
        output=_resolve(base, paths.get("output", "reports/output")),
        raw_dir=_resolve(base, paths.get("raw", "data/raw")),
        as_of=_parse_date(as_of, as_of_from),
        horizon_months=int(_given(overrides, "horizon_months", run.get("horizon_months", 6))),
        top_n=int(_given(overrides, "top_n", run.get("top_n", 50))),
        sources=sources,
        raw=raw,
    )
    if settings.horizon_months < 1:
        where = "--horizon" if overrides.get("horizon_months") is not None else f"{cfg_path} [run]"
        raise ConfigError(f"{where} : horizon_months doit être >= 1")
    if settings.top_n < 1:
        where = "--top" if overrides.get("top_n") is not None else f"{cfg_path} [run]"
        raise ConfigError(f"{where} : top_n doit être >= 1")
    return settings


def write_relocated_config(path: Path, sample: Path, work: Path, extra: str = "") -> Path:
    """The shipped ciblage.toml pointing at another `sample`, with warehouse and outputs
    under `work` (tests and benchmarks run the real configuration on throw-away folders)."""
    reference = PROJECT_ROOT / "data" / "reference"
    shipped = DEFAULT_CONFIG.read_text(encoding="utf-8")
    text = (
        shipped.replace('"data/sample/', f'"{sample.as_posix()}/')
        .replace('"data/reference/', f'"{reference.as_posix()}/')
        .replace('"data/warehouse/', f'"{work.as_posix()}/warehouse/')
        .replace('"reports/output"', f'"{work.as_posix()}/output"')
        .replace('"data/raw"', f'"{work.as_posix()}/raw"')
    )
    path.write_text(text + "\n" + extra, encoding="utf-8")
    return path
