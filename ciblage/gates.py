"""Publication gates: is this run sane enough to replace the lists agencies are using?

A model or data accident (a source half-loaded, a feature gone NULL) shows up as a jump
between two consecutive runs long before anyone reads a list. Before `latest` is
switched, the new run is compared with the published one, per territory (département):
scored establishments and high-potential ones within ratio bounds, mean absolute change
of hiring potential for establishments scored in both runs, share of lists whose top 10
was replaced entirely. Every threshold is in `[gates]` of ciblage.toml.

Each run folder keeps a small snapshot (`ciblage.gate_snapshot`) so that the next run
compares with what was *published*, not with the warehouse, which has been overwritten
since.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import polars as pl

from ciblage.config import ConfigError, Settings
from ciblage.gate_snapshot import POTENTIALS_FILE, SNAPSHOT_DIR, STATS_FILE
from ciblage.publish.target_files import changed_files, read_files, targets_files

REPORT_JSON, REPORT_MD = "run_report.json", "run_report.md"
LIST_KEY = ["territory_level", "territory_code", "code_rome"]
LISTS = "listes (targets/)"


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of `[gates]`; ratios are current / previous per département."""

    enabled: bool = True
    high_potential_min: int = 70  # hiring_potential counted as "high potential"
    count_min_ratio: float = 0.8  # scored establishments
    count_max_ratio: float = 1.25
    high_min_ratio: float = 0.5  # high-potential establishments
    high_max_ratio: float = 2.0
    min_baseline: int = 20  # below this previous count (or common sirets), no ratio check
    max_mean_abs_change: float = 15.0  # points of hiring potential (0-100)
    max_top10_replaced_share: float = 0.5  # lists whose top 10 shares no company
    top10_min_lists: int = 3  # territories with fewer common lists are not judged

    @classmethod
    def from_settings(cls, settings: Settings) -> GateConfig:
        raw = settings.section("gates")
        known = {f.name: f.type for f in fields(cls)}
        unknown = sorted(set(raw) - set(known))
        if unknown:
            raise ConfigError(
                f"{settings.config_path} : option(s) inconnue(s) dans [gates] : "
                f"{', '.join(unknown)} (connues : {', '.join(known)})"
            )
        defaults = cls()
        values = {k: type(getattr(defaults, k))(v) for k, v in raw.items()}
        return cls(**values)


@dataclass
class GateCheck:
    name: str
    territory: str  # 'dep:45', 'bassin:2401', or 'run' for whole-run checks
    value: float | None
    bound: str
    passed: bool
    detail: str = ""


@dataclass
class GateReport:
    run_id: str
    run_dir: str
    previous_run_id: str | None
    checks: list[GateCheck] = field(default_factory=list)
    published: bool = False
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    # data problems that did not stop the publication (optional sources on their last
    # good load): the report must not read as a clean run when they exist
    warnings: list[str] = field(default_factory=list)
    # French lines of ciblage.freshness: which source's data is old, since when
    stale_sources: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[GateCheck]:
        return [c for c in self.checks if not c.passed]

    def summary(self) -> str:
        if self.passed:
            return f"{len(self.checks)} contrôle(s) de publication réussi(s)"
        return " ; ".join(
            f"{c.name} en échec pour {c.territory} : {c.detail}" for c in self.failures[:5]
        ) + (f" (+{len(self.failures) - 5} autre(s))" if len(self.failures) > 5 else "")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["passed"] = self.passed
        return d

    def write(self, run_dir: Path) -> None:
        (run_dir / REPORT_JSON).write_text(
            json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8"
        )
        (run_dir / REPORT_MD).write_text(self.to_markdown(), encoding="utf-8")

    @classmethod
    def read(cls, run_dir: Path) -> GateReport:
        """The report a run folder holds (written by `write`)."""
        data = json.loads((run_dir / REPORT_JSON).read_text(encoding="utf-8"))
        data.pop("passed", None)
        checks = [GateCheck(**c) for c in data.pop("checks", [])]
        return cls(checks=checks, **data)

    def to_markdown(self) -> str:
        if not self.published:
            previous = self.previous_run_id or "aucune"
            state = f"NON PUBLIÉ : les listes précédentes ({previous}) restent publiées"
        elif self.warnings or self.stale_sources:
            state = "PUBLIÉ AVEC AVERTISSEMENTS (données dégradées ; `latest` pointe sur ce run)"
        else:
            state = "PUBLIÉ (`latest` pointe désormais sur ce run)"
        lines = [
            f"# Rapport du run {self.run_id}",
            "",
            f"- {state}",
            f"- comparé à : {self.previous_run_id or 'rien (première publication)'}",
            f"- contrôles : {len(self.checks)}, en échec : {len(self.failures)}",
            f"- avertissements sur les données : {len(self.warnings)}",
            "",
        ]
        if self.stale_sources:
            lines += ["## Données anciennes", ""] + [f"- {n}" for n in self.stale_sources] + [""]
        if self.warnings:
            lines += ["## Avertissements sur les données", ""]
            lines += [f"- {w}" for w in self.warnings] + [""]
        if self.failures:
            lines += ["## Contrôles en échec", ""]
            lines += ["| contrôle | territoire | valeur | seuil | détail |"]
            lines += ["|---|---|---|---|---|"]
            for c in self.failures:
                value = "n/d" if c.value is None else f"{c.value:.3g}"
                lines.append(f"| {c.name} | {c.territory} | {value} | {c.bound} | {c.detail} |")
            lines.append("")
        return "\n".join(lines)


def add_warnings(run_dir: Path, warnings: list[str]) -> GateReport | None:
    """Record data warnings in a run's report after the fact (the nightly flow knows its
    sources' outcome, the publish stage that wrote the report does not)."""
    if not warnings or not (run_dir / REPORT_JSON).is_file():
        return None
    report = GateReport.read(run_dir)
    report.warnings = list(dict.fromkeys([*report.warnings, *warnings]))
    report.write(run_dir)
    return report


# ---- evaluation --------------------------------------------------------------------------


def evaluate(run_dir: Path, previous_dir: Path | None, cfg: GateConfig) -> list[GateCheck]:
    checks = _outputs_complete(run_dir)
    if not all(c.passed for c in checks) or previous_dir is None or not cfg.enabled:
        return checks
    prev_snap, cur_snap = previous_dir / SNAPSHOT_DIR, run_dir / SNAPSHOT_DIR
    if (prev_snap / STATS_FILE).exists():
        checks += _count_checks(
            pl.read_parquet(cur_snap / STATS_FILE), pl.read_parquet(prev_snap / STATS_FILE), cfg
        )
        checks += _change_checks(
            pl.read_parquet(cur_snap / POTENTIALS_FILE),
            pl.read_parquet(prev_snap / POTENTIALS_FILE),
            cfg,
        )
    if targets_files(previous_dir):
        # a list file linked from the previous run is that run's own: its lists are the
        # same, so only the files that differ are compared
        cur, prev = changed_files(run_dir, previous_dir)
        columns = [*LIST_KEY, "rank", "siret"]
        checks += _top10_checks(_read(cur, columns), _read(prev, columns), cfg)
    return checks


def _read(files: list[Path], columns: list[str]) -> pl.DataFrame:
    if not files:
        return pl.DataFrame(schema=dict.fromkeys(columns, pl.String)).with_columns(
            pl.col("rank").cast(pl.Int32)
        )
    return read_files(files, columns)


def _outputs_complete(run_dir: Path) -> list[GateCheck]:
    problems = []
    files = targets_files(run_dir)
    n = 0
    if not files:
        problems.append(f"{LISTS} absentes")
    for f in files:
        try:
            schema = pl.read_parquet_schema(f)
            missing = [c for c in [*LIST_KEY, "rank", "siret"] if c not in schema]
            if missing:
                problems.append(f"{LISTS} : {f.name} sans les colonnes {missing}")
            n += pl.scan_parquet(f).select(pl.len()).collect().item()
        except Exception as exc:  # unreadable file = incomplete run
            problems.append(f"{LISTS} : {f.name} illisible : {exc}")
    if files and n == 0:
        problems.append(f"{LISTS} sans aucune ligne")
    partial = [p.name for p in run_dir.rglob("*") if p.suffix in (".tmp", ".partial")]
    if partial:
        problems.append(f"fichiers inachevés : {', '.join(sorted(partial)[:5])}")
    if not (run_dir / SNAPSHOT_DIR / STATS_FILE).is_file():
        problems.append("instantané des contrôles absent")
    return [
        GateCheck(
            "outputs_complete",
            "run",
            float(n),
            f"{LISTS} lisibles, non vides ; aucun fichier inachevé",
            not problems,
            " ; ".join(problems) or f"{n} lignes de listes",
        )
    ]


def _ratio_check(
    name: str, territory: str, cur: int, prev: int, lo: float, hi: float, cfg: GateConfig
) -> GateCheck | None:
    if prev < max(cfg.min_baseline, 1):  # no ratio to a count of zero (min_baseline = 0)
        return None
    ratio = cur / prev
    return GateCheck(
        name,
        territory,
        ratio,
        f"{lo} <= actuel/précédent <= {hi}",
        lo <= ratio <= hi,
        f"{cur} maintenant contre {prev} au run précédent (ratio {ratio:.2f})",
    )


def _count_checks(cur: pl.DataFrame, prev: pl.DataFrame, cfg: GateConfig) -> list[GateCheck]:
    joined = cur.filter(pl.col("in_scope")).join(
        prev, on="code_departement", how="left", suffix="_prev"
    )
    checks = []
    for r in joined.sort("code_departement").iter_rows(named=True):
        terr = f"dep:{r['code_departement']}"
        for name, col, lo, hi in (
            ("scored_establishments", "n_scored", cfg.count_min_ratio, cfg.count_max_ratio),
            ("high_potential_establishments", "n_high", cfg.high_min_ratio, cfg.high_max_ratio),
        ):
            c = _ratio_check(name, terr, r[col], r[f"{col}_prev"] or 0, lo, hi, cfg)
            if c:
                checks.append(c)
    # a département published before and now empty: its counts fell to zero
    gone = prev.join(cur, on="code_departement", how="anti")
    if "in_scope" in cur.columns and cur["in_scope"].all():
        for r in gone.sort("code_departement").iter_rows(named=True):
            c = _ratio_check(
                "scored_establishments",
                f"dep:{r['code_departement']}",
                0,
                r["n_scored"],
                cfg.count_min_ratio,
                cfg.count_max_ratio,
                cfg,
            )
            if c:
                checks.append(c)
    return checks


def _change_checks(cur: pl.DataFrame, prev: pl.DataFrame, cfg: GateConfig) -> list[GateCheck]:
    both = cur.join(prev.select("siret", "hiring_potential"), on="siret", suffix="_prev")
    per_dep = (
        both.group_by("code_departement")
        .agg(
            n=pl.len(),
            mae=(pl.col("hiring_potential") - pl.col("hiring_potential_prev"))
            .abs()
            .cast(pl.Float64)
            .mean(),
        )
        .sort("code_departement")
    )
    return [
        GateCheck(
            "mean_abs_potential_change",
            f"dep:{r['code_departement']}",
            r["mae"],
            f"<= {cfg.max_mean_abs_change} points",
            r["mae"] <= cfg.max_mean_abs_change,
            f"variation absolue moyenne de {r['mae']:.1f} points sur {r['n']} établissements "
            "présents dans les deux runs",
        )
        for r in per_dep.iter_rows(named=True)
        if r["n"] >= cfg.min_baseline
    ]


def _top10_checks(cur: pl.DataFrame, prev: pl.DataFrame, cfg: GateConfig) -> list[GateCheck]:
    def tops(df: pl.DataFrame) -> pl.DataFrame:
        return df.filter(pl.col("rank") <= 10).group_by(LIST_KEY).agg(sirets=pl.col("siret"))

    both = tops(cur).join(tops(prev), on=LIST_KEY, suffix="_prev")
    both = both.with_columns(
        replaced=pl.col("sirets").list.set_intersection(pl.col("sirets_prev")).list.len() == 0
    )
    per_terr = (
        both.group_by("territory_level", "territory_code")
        .agg(n=pl.len(), n_replaced=pl.col("replaced").sum())
        .sort("territory_level", "territory_code")
    )
    checks = []
    for r in per_terr.iter_rows(named=True):
        if r["n"] < cfg.top10_min_lists:
            continue
        share = r["n_replaced"] / r["n"]
        checks.append(
            GateCheck(
                "top10_replaced_share",
                f"{r['territory_level']}:{r['territory_code']}",
                share,
                f"<= {cfg.max_top10_replaced_share}",
                share <= cfg.max_top10_replaced_share,
                f"{r['n_replaced']} listes sur {r['n']} ont un top 10 entièrement nouveau",
            )
        )
    return checks
