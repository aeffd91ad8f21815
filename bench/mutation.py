"""Mutation testing of the critical modules: the share of deliberate small bugs each
module's fast tests catch.

    python bench/mutation.py                    # every module, one after the other
    python bench/mutation.py publication_gates  # one module
    python bench/mutation.py --list             # modules, files and tests

Python code is mutated by mutmut (3.x: operators, comparisons, constants, strings,
arguments, each mutant run by forking a warmed-up pytest on only the tests that call the
mutated function). mutmut does not read SQL, so the rules written in `sql/*.sql` are
mutated here with a small operator set (comparisons, AND/OR, NOT, IS [NOT] TRUE/FALSE/
NULL, DESC/ASC, integer and string literals, row_number/rank, max/min, greatest/least,
deletion of one `AND` condition), each mutant run by one pytest process on the module's
tests.

Everything happens in a copy of the sources under --workdir (default: a folder of the
system's temp directory), never in the working tree, one module at a time, one process
at a time (`--max-children 1`): the machine is shared. Each module runs only the fast
tests relevant to it (seconds each), never the end-to-end suite. A mutant counts as
killed when a test fails (or times out); the figure printed per module is killed / all.
The surviving mutants are printed with their diff; `--keep` keeps the workspace to look
at them (`cd <workdir>/<module> && python -m mutmut show <name>`).

`--names PATTERN ...` runs only some mutants of the module(s), to measure or re-check a
part (fnmatch patterns): a Python pattern is on mutmut's names (`scoring.ranking.x_rank_all*`,
`scoring.ranking.xǁRankingOptionsǁfrom_settings*`), a SQL one on `FILE:LINE`
(`sql/target_rank.sql:4*`); the part (Python or SQL) no pattern names is skipped.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIED = [
    "ciblage",
    "scoring",
    "pipelines",
    "sql",
    "tests",
    "reports/templates",
    "data/reference",
    "data/aides",
]
COPIED_FILES = ["pyproject.toml", "ciblage.toml"]


@dataclass(frozen=True)
class Module:
    """A critical module: its Python files (mutmut), mutant names kept (fnmatch patterns on
    mutmut's names, default: every function of the files), its SQL files (own operators)
    and the fast tests that must catch the mutants."""

    python: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    sql: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    sql_tests: tuple[str, ...] = ()  # tests for the SQL mutants (default: `tests`)
    note: str = ""


MODULES: dict[str, Module] = {
    "siret": Module(
        python=("ciblage/siret.py", "ciblage/quality/luhn.py", "ciblage/ingest/rules.py"),
        names=(
            "ciblage.siret.*",
            "ciblage.quality.luhn.*",
            "ciblage.ingest.rules.x_install_macros__mutmut_*",
            "ciblage.ingest.rules.x__luhn_sum__mutmut_*",
            "ciblage.ingest.rules.x__digit_sum__mutmut_*",
        ),
        tests=("tests/quality/test_siret_rules.py", "tests/ingest/test_rules.py"),
        note="scalar, vectorised and SQL-macro checksums (rules.py: the macro builders only)",
    ),
    "quality_gate": Module(
        python=("ciblage/ingest/gate.py",),
        tests=("tests/ingest/test_quality_gate.py",),
        note="ciblage/ingest/gate.py: sampled path, row count, freshness",
    ),
    "publication_gates": Module(
        python=("ciblage/gates.py",),
        names=(
            *(
                f"ciblage.gates.x_{f}__mutmut_*"
                for f in (
                    "evaluate",
                    "_outputs_complete",
                    "_ratio_check",
                    "_count_checks",
                    "_change_checks",
                    "_top10_checks",
                )
            ),
        ),
        note="the gates themselves (config and snapshot: gate_snapshot; report: gate_report)",
        # test_gates.py proves the same through publish_run, 100 times slower
        tests=("tests/orchestration/test_gate_bounds.py",),
    ),
    "gate_snapshot": Module(
        python=("ciblage/gates.py", "ciblage/gate_snapshot.py"),
        names=(
            "ciblage.gates.xǁGateConfigǁ*",
            "ciblage.gate_snapshot.x_scope_departements__mutmut_*",
            "ciblage.gate_snapshot.x_write_snapshot__mutmut_*",
            "ciblage.gate_snapshot.x__carried_stats__mutmut_*",
            "ciblage.gates.x_add_warnings__mutmut_*",
        ),
        tests=("tests/orchestration/test_gate_bounds.py",),
        note="[gates] config, the snapshot every run keeps (privacy filter), warnings",
    ),
    "gate_report": Module(
        python=("ciblage/gates.py",),
        names=("ciblage.gates.xǁGateReportǁ*",),
        tests=("tests/orchestration/test_gate_bounds.py",),
        note="GateReport: run_report.md / .json, summary, warnings",
    ),
    "eligibility": Module(
        sql=("sql/eligible_etablissement.sql",),
        tests=(
            "tests/publish/test_privacy.py::test_eligibility_rule",
            "tests/publish/test_ranking.py::test_only_eligible_establishments",
        ),
        note="the privacy rule is SQL only; its Python callers are in ranking",
    ),
    "ranking": Module(
        python=("scoring/ranking.py",),
        sql=("sql/target_candidate.sql", "sql/territory_partition.sql", "sql/target_rank.sql"),
        # test_determinism.py never calls the ranking (it pins write_targets and the
        # fiches); of test_targets_schema.py only the file written from a real ranking
        # does (the broken-file cases rank again each only to break the result)
        tests=(
            "tests/publish/test_ranking.py",
            "tests/publish/test_ranking_bounds.py",
            "tests/publish/test_ranking_mutants.py",
            "tests/publish/test_rerun_scope.py",
            "tests/publish/test_targets_schema.py::test_written_file_validates",
        ),
        note="options, candidates, partitions of territories, ranking rules (SQL: own operators)",
    ),
    "model_gate": Module(
        python=("scoring/model_gate.py",),
        # the two tests that train models are the slow end-to-end proof; the fast ones
        # judge every check
        tests=("tests/scoring/test_model_gate.py", "-k", "not forced and not extrapolating"),
    ),
}


# Survivors no test can kill, because the mutant behaves exactly as the original: matched
# on (file, original line, mutated line), stripped, so that they stay recognised when other
# code moves. They are printed with their reason and left out of the share.
EQUIVALENT: list[tuple[str, str, str, str]] = [
    (
        "ciblage/siret.py",
        "total += d",
        "total -= d",
        "total % 10 == 0 exactly when -total % 10 == 0",
    ),
    (
        "ciblage/quality/luhn.py",
        "doubled = (width - 1 - np.arange(width)) % 2 == 1",
        "doubled = (width - 1 + np.arange(width)) % 2 == 1",
        "-i and +i have the same parity",
    ),
    (
        "ciblage/quality/luhn.py",
        "doubled = (width - 1 - np.arange(width)) % 2 == 1",
        "doubled = (width + 1 - np.arange(width)) % 2 == 1",
        "width - 1 and width + 1: same parity",
    ),
    (
        "ciblage/quality/luhn.py",
        "values = digits.astype(np.int16)",
        "values = digits.astype(None)",
        "float64 digits: the same sums, exactly",
    ),
    (
        "ciblage/quality/luhn.py",
        'out = pd.Series(pd.NA, index=values.index, dtype="boolean")',
        'out = pd.Series(None, index=values.index, dtype="boolean")',
        "None is NA in a nullable boolean Series",
    ),
    (
        "ciblage/quality/luhn.py",
        'out = pd.Series(pd.NA, index=values.index, dtype="boolean")',
        'out = pd.Series(index=values.index, dtype="boolean")',
        "the default value is NA",
    ),
    (
        "ciblage/quality/luhn.py",
        'mask = (notnull & s.str.fullmatch(f"[0-9]{{{width}}}")).fillna(False).to_numpy(bool)',
        'mask = (notnull & s.str.fullmatch(f"[0-9]{{{width}}}")).fillna(False).to_numpy(None)',
        "the frame has no NA left: numpy makes the same boolean mask",
    ),
    (
        "ciblage/quality/luhn.py",
        'mask = (notnull & s.str.fullmatch(f"[0-9]{{{width}}}")).fillna(False).to_numpy(bool)',
        'mask = (notnull & s.str.fullmatch(f"[0-9]{{{width}}}")).fillna(None).to_numpy(bool)',
        "False & NA is False (Kleene logic): there is never an NA to fill",
    ),
    (
        "ciblage/quality/luhn.py",
        'mask = (notnull & s.str.fullmatch(f"[0-9]{{{width}}}")).fillna(False).to_numpy(bool)',
        'mask = (notnull & s.str.fullmatch(f"[0-9]{{{width}}}")).fillna(True).to_numpy(bool)',
        "False & NA is False (Kleene logic): there is never an NA to fill",
    ),
    (
        "ciblage/quality/luhn.py",
        'raw = "".join(sub.tolist()).encode("ascii")',
        'raw = "".join(sub.tolist()).encode("ASCII")',
        "codec names are case-insensitive",
    ),
    (
        "ciblage/quality/luhn.py",
        "digits = (np.frombuffer(raw, dtype=np.uint8).reshape(-1, width) - 48).astype(np.uint8)",
        "digits = (np.frombuffer(raw, dtype=np.uint8).reshape(-1, width) - 48).astype(None)",
        "float64 digits: the same sums, exactly",
    ),
    (
        "ciblage/quality/luhn.py",
        "digits = (np.frombuffer(raw, dtype=np.uint8).reshape(-1, width) - 48).astype(np.uint8)",
        "digits = (np.frombuffer(raw, dtype=np.uint8).reshape(-2, width) - 48).astype(np.uint8)",
        "numpy takes any negative size as the one unknown dimension",
    ),
    (
        "ciblage/quality/luhn.py",
        "la_poste = sub.str.startswith(LA_POSTE_SIREN).to_numpy(bool)",
        "la_poste = sub.str.startswith(LA_POSTE_SIREN).to_numpy(None)",
        "the values are all-digit strings: startswith never gives NA, the mask is the same",
    ),
    (
        "ciblage/ingest/rules.py",
        'terms.append(f"({d} * 2 - CASE WHEN {d} >= 5 THEN 9 ELSE 0 END)" if (n - i) % 2 == 0 '
        "else d)",
        'terms.append(f"({d} * 2 - CASE WHEN {d} >= 5 THEN 9 ELSE 0 END)" if (n + i) % 2 == 0 '
        "else d)",
        "n - i and n + i have the same parity",
    ),
]
_READ = 'data = json.loads((run_dir / REPORT_JSON).read_text(encoding="utf-8"))'
_CHECKS = 'checks = [GateCheck(**c) for c in data.pop("checks", [])]'
EQUIVALENT += [
    (
        "ciblage/gates.py",
        _READ,
        _READ.replace('"utf-8"', "None"),
        "the locale's encoding is UTF-8 (Python's UTF-8 mode / C locale coercion)",
    ),
    (
        "ciblage/gates.py",
        _READ,
        _READ.replace("utf-8", "UTF-8"),
        "codec names are case-insensitive",
    ),
    (
        "ciblage/gates.py",
        'data.pop("passed", None)',
        'data.pop("passed", )',
        "a report written by GateReport.write always holds 'passed'",
    ),
    (
        "ciblage/gates.py",
        _CHECKS,
        _CHECKS.replace("[])", "None)"),
        "a report written by GateReport.write always holds 'checks'",
    ),
    (
        "ciblage/gates.py",
        _CHECKS,
        _CHECKS.replace("[])", ")"),
        "a report written by GateReport.write always holds 'checks'",
    ),
    (
        "ciblage/gates.py",
        'prev, on="code_departement", how="left", suffix="_prev"',
        'prev, on="code_departement", suffix="_prev"',
        "a département absent before has no baseline: left or inner join, no check either way",
    ),
]
_DUMPS = 'json.dumps(self.to_dict(), indent=2, ensure_ascii=False), encoding="utf-8"'
_MD = '(run_dir / REPORT_MD).write_text(self.to_markdown(), encoding="utf-8")'
_DEP_SPLIT = 'return [territory.split(":", 1)[1]]'
_UTF8 = "the locale's encoding is UTF-8 (Python's UTF-8 mode / C locale coercion)"
EQUIVALENT += [
    ("ciblage/gates.py", _DUMPS, _DUMPS.replace('encoding="utf-8"', "encoding=None"), _UTF8),
    ("ciblage/gates.py", _DUMPS + " )", _DUMPS.replace(', encoding="utf-8"', ", )"), _UTF8),
    ("ciblage/gates.py", _DUMPS, _DUMPS.replace("utf-8", "UTF-8"), "codec names: any case"),
    (
        "ciblage/gates.py",
        _DUMPS,
        _DUMPS.replace("ensure_ascii=False", "ensure_ascii=None"),
        "json.dumps only tests ensure_ascii for truth: None is False",
    ),
    ("ciblage/gates.py", _MD, _MD.replace('encoding="utf-8"', "encoding=None"), _UTF8),
    ("ciblage/gates.py", _MD, _MD.replace(', encoding="utf-8"', ", "), _UTF8),
    ("ciblage/gates.py", _MD, _MD.replace("utf-8", "UTF-8"), "codec names: any case"),
    (
        "ciblage/gates.py",
        'return [territory.split(":", 1)[1]]',
        'return [territory.split(":", )[1]]',
        "a département code holds no ':'",
    ),
    (
        "ciblage/gates.py",
        'return [territory.split(":", 1)[1]]',
        'return [territory.rsplit(":", 1)[1]]',
        "a département code holds no ':'",
    ),
]
EQUIVALENT += [
    (
        "ciblage/gates.py",
        _DEP_SPLIT,
        _DEP_SPLIT.replace(", 1)", ", 2)"),
        "a département code holds no ':'",
    ),
]
EQUIVALENT += [
    (
        "ciblage/ingest/rules.py",
        f'def {f}(n: int, var: str = "s") -> str:',
        f'def {f}(n: int, var: str = "S") -> str:',
        "the SQL macro's parameter name: DuckDB identifiers are case-insensitive",
    )
    for f in ("_digit_sum",)
]
EQUIVALENT += [
    (
        "sql/eligible_etablissement.sql",
        f"AND coalesce({u}.statut_diffusion, '') <> 'P'{end}",
        f"AND coalesce({u}.statut_diffusion, '~') <> 'P'{end}",
        "a missing status compared with 'P': any default other than 'P' gives the same",
    )
    for u, end in (("e", ""), ("ul", ";"))
]
EQUIVALENT += [
    (
        "ciblage/ingest/gate.py",
        "newest = row[0] if row else None",
        "newest = row[0] if (row) or True else None",
        "max() over the table always returns one row",
    ),
    (
        "ciblage/ingest/gate.py",
        "if target != staging",
        "if (target != staging) or True",
        "unsampled, the same checks run on the same table in two calls instead of one",
    ),
    (
        "ciblage/ingest/gate.py",
        'partition_by="_partition" if spec.partition and table == target else None,',
        'partition_by="_PARTITION" if spec.partition and table == target else None,',
        "used as a DuckDB expression: column names are case-insensitive",
    ),
    (
        "ciblage/ingest/gate.py",
        "if len(outcomes) > 1:  # each call replaces the run's dq_result rows: store both",
        "if len(outcomes) >= 1:  # each call replaces the run's dq_result rows: store both",
        "one outcome recorded a second time replaces its own rows with the same rows",
    ),
]
_CAND_DEP = (
    "SELECT coalesce(el.code_departement, '?') AS code_departement, el.code_commune, el.siret,"
)
_NON_EMPLOYER = "AND NOT (coalesce(sig.is_employer, 1) = 0"
EQUIVALENT += [
    (
        "sql/target_candidate.sql",
        _CAND_DEP,
        _CAND_DEP.replace("'?'", "'~'"),
        "the stand-in département of an establishment without one only groups candidates "
        "into partitions (and the partition's own deps): any code no département has does "
        "the same, the lists are sorted whatever the partitions' order",
    ),
    (
        "sql/target_candidate.sql",
        _NON_EMPLOYER,
        _NON_EMPLOYER.replace(", 1)", ", 2)"),
        "an establishment without features counts as an employer: any default but 0 does",
    ),
]
EQUIVALENT += [
    (
        "sql/target_rank.sql",
        before,
        before.replace("row_number()", "rank()"),
        "no ties to number: (territory, trade, siret) is unique among the candidates, so each "
        "window's order (siret; code_rome per company; pre_rank) is total",
    )
    for before in ("row_number() OVER (", "CAST(row_number() OVER (")
]
_TRANCHES = 'labels = json.loads(path.read_text(encoding="utf-8"))'
EQUIVALENT += [
    (
        "scoring/ranking.py",
        _TRANCHES,
        _TRANCHES.replace('encoding="utf-8"', "encoding=None"),
        _UTF8,
    ),
    ("scoring/ranking.py", _TRANCHES, _TRANCHES.replace('encoding="utf-8"', ""), _UTF8),
    ("scoring/ranking.py", _TRANCHES, _TRANCHES.replace("utf-8", "UTF-8"), "codec names: any case"),
]
_LINKS = 'links="offre_siret_link" if has_offers else _EMPTY_LINKS,'
_TARGET_LIST = '"target_rank",'  # build_target_list's first argument in rank_targets
_RANK_ALL = "rank_all(con, parts, as_of, options, partitioned)"
_SAME_LISTS = (
    "one pass or one partition at a time, the same rows in the same order (what "
    "test_partitioned_ranking_gives_the_one_pass_lists pins): the flag only bounds memory"
)
EQUIVALENT += [
    (
        "scoring/ranking.py",
        _LINKS,
        _LINKS.replace('"offre_siret_link"', '"OFFRE_SIRET_LINK"'),
        "a table name in SQL text: case-insensitive",
    ),
    (
        "scoring/ranking.py",
        _TARGET_LIST,
        _TARGET_LIST.replace('"target_rank"', '"TARGET_RANK"'),
        "a table name in SQL text: case-insensitive",
    ),
    (
        "scoring/ranking.py",
        'scope = "territory_scope"',
        'scope = "TERRITORY_SCOPE"',
        "a table name in SQL text: case-insensitive",
    ),
    (
        "scoring/ranking.py",
        "\"'score_etablissement_rome' AND NOT internal\"",
        "\"'score_etablissement_rome' and not internal\"",
        "letter case of SQL keywords (the quoted table name unchanged)",
    ),
    ("scoring/ranking.py", "partitioned: bool = True,", "partitioned: bool = False,", _SAME_LISTS),
    ("scoring/ranking.py", _RANK_ALL, _RANK_ALL.replace("partitioned)", "None)"), _SAME_LISTS),
    ("scoring/ranking.py", _RANK_ALL, _RANK_ALL.replace("partitioned)", ")"), _SAME_LISTS),
]
_NO_RANK = 'if not table_exists(con, "target_rank"):  # nothing in scope had a candidate'
_FALLBACK = 'rank_partition(con, Partition("-", (), 0), as_of, options)'
_EMPTY_PART = (
    "the stand-in partition of an empty ranking holds no territory (none is in a partition "
    "'-' or NULL): ranking it appends no row"
)
_OFFRES_BOUND = "or not 0 <= (opts.min_potential_offres or 0) <= 100"
EQUIVALENT += [
    *(
        (
            "scoring/ranking.py",
            _NO_RANK,
            _NO_RANK.replace('"target_rank"', after),
            "a name no table has: the stand-in partition is ranked after every ranking, not "
            "only an empty one; it holds no territory, so it appends no row (same lists, same "
            "count)",
        )
        for after in ("None", '"XXtarget_rankXX"', '"TARGET_RANK"')
    ),
    *(
        ("scoring/ranking.py", _FALLBACK, _FALLBACK.replace('"-", (), 0', after), _EMPTY_PART)
        for after in ("None, (), 0", '"XX-XX", (), 0')
    ),
    (
        "scoring/ranking.py",
        _FALLBACK,
        _FALLBACK.replace("as_of, options", "None, options"),
        _EMPTY_PART + ", whatever the as-of date",
    ),
    *(
        (
            "scoring/ranking.py",
            _FALLBACK,
            _FALLBACK.replace('"-", (), 0', after),
            "rank_partition never reads a partition's number of territories",
        )
        for after in ('"-", (), None', '"-", (), 1')
    ),
    (
        "scoring/ranking.py",
        'scope, deps = "scope_part", part.deps',
        'scope, deps = "SCOPE_PART", part.deps',
        "a table name in SQL text: case-insensitive",
    ),
    (
        "scoring/ranking.py",
        'cooldown="promotion_cooldown" if use_cooldown else EMPTY_COOLDOWN,',
        'cooldown="PROMOTION_COOLDOWN" if use_cooldown else EMPTY_COOLDOWN,',
        "a table name in SQL text: case-insensitive",
    ),
    (
        "scoring/ranking.py",
        'signal="feature_etablissement"',
        'signal="FEATURE_ETABLISSEMENT"',
        "a table name in SQL text: case-insensitive",
    ),
    (
        "scoring/ranking.py",
        _OFFRES_BOUND,
        _OFFRES_BOUND.replace("or 0)", "or 1)"),
        "the stand-in for an unset (None) or 0 min_potential_offres is only range-checked: "
        "0 and 1 both pass",
    ),
]
_COLUMNS = 'columns=[*LIST_KEY, "rank", "siret"]),'
EQUIVALENT += [
    (
        "ciblage/gates.py",
        f"pl.read_parquet({d} / TARGETS_FILE, {_COLUMNS}",
        f"pl.read_parquet({d} / TARGETS_FILE, {after}",
        "reading every column of targets.parquet: the checks use the same five",
    )
    for d in ("run_dir", "previous_dir")
    for after in ("columns=None),", "),")
]
# A mutant that only changes the letter case of SQL text (keywords, functions, identifiers)
# is equivalent, SQL and DuckDB identifiers being case-insensitive; not when a quoted
# literal changes ('P' is not 'p').
_SQL_WORDS = re.compile(
    r"\b(select|from|join|where|create|drop|macro|when|then|else|coalesce|order by|group by|limit"
    r"|is (not )?(null|true|false)|list_contains)\b",
    re.I,
)


def _sql_case_only(before: str, after: str) -> bool:
    return (
        before != after
        and before.lower() == after.lower()
        and bool(_SQL_WORDS.search(before))
        and re.findall(r"'[^']*'", before) == re.findall(r"'[^']*'", after)
    )


def is_equivalent(file: str, before: str, after: str) -> str | None:
    """The reason a survivor is equivalent, or None."""
    before, after = before.strip(), after.strip()
    for f, b, a, why in EQUIVALENT:
        if (f, b, a) == (file, before, after):
            return why
    if _sql_case_only(before, after):
        return "letter case of SQL text (case-insensitive)"
    return None


@dataclass
class Outcome:
    total: int = 0
    killed: int = 0
    survivors: list[str] = field(default_factory=list)
    equivalent: list[str] = field(default_factory=list)
    other: dict[str, int] = field(default_factory=dict)

    def add(self, other: Outcome) -> None:
        self.total += other.total
        self.killed += other.killed
        self.survivors += other.survivors
        self.equivalent += other.equivalent
        for k, v in other.other.items():
            self.other[k] = self.other.get(k, 0) + v

    @property
    def share(self) -> float:
        """Killed among the mutants that can be killed (equivalent ones left out)."""
        judged = self.total - len(self.equivalent)
        return self.killed / judged if judged else float("nan")

    @property
    def raw_share(self) -> float:
        return self.killed / self.total if self.total else float("nan")


def _toml_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def prepare(work: Path, module: Module) -> None:
    """A private copy of the sources with mutmut's configuration for this module."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "output")
    for d in COPIED:
        shutil.copytree(ROOT / d, work / d, ignore=ignore)
    for f in COPIED_FILES:
        shutil.copy2(ROOT / f, work / f)
    # The test package tests/scoring shadows the scoring package once pytest puts tests/ on
    # sys.path (rootdir insertion); the real one is then found only through the editable
    # install, i.e. the working tree's unmutated code. In the copy, tests/ is made a package
    # so that pytest inserts the copy's root instead, and `scoring` is the mutated one.
    (work / "tests" / "__init__.py").touch()
    if module.python:
        config = (
            "\n[tool.mutmut]\n"
            'source_paths = ["ciblage", "scoring"]\n'
            f"only_mutate = {_toml_list(module.python)}\n"
            'also_copy = ["pipelines", "sql", "data", "reports", "ciblage.toml"]\n'
            'pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-p", "no:xdist"]\n'
            f"pytest_add_cli_args_test_selection = {_toml_list(module.tests)}\n"
            # polars and DuckDB start thread pools: a fork of a process that used them can
            # deadlock, so mutants are forked from a server that only imported the tests
            'process_isolation = "forkserver"\n'
        )
        with (work / "pyproject.toml").open("a", encoding="utf-8") as fh:
            fh.write(config)


def _python(work: Path) -> str:
    return sys.executable


def _file_of(mutant: str, module: Module) -> str:
    """The file of a mutmut mutant name (`ciblage.ingest.rules.x_f__mutmut_3`)."""
    dotted = mutant.split(".x_")[0].split(".xǁ")[0]
    for f in module.python:
        if f.removesuffix(".py").replace("/", ".") == dotted:
            return f
    return dotted


def run_mutmut(work: Path, module: Module) -> Outcome:
    names = list(module.names) or [
        p.removesuffix(".py").replace("/", ".") + ".*" for p in module.python
    ]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    cmd = [_python(work), "-m", "mutmut", "run", "--max-children", "1", *names]
    run = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True)
    (work / "mutmut-run.log").write_text(run.stdout + run.stderr, encoding="utf-8")
    if run.returncode != 0:
        tail = "\n".join((run.stdout + run.stderr).splitlines()[-30:])
        raise RuntimeError(f"mutmut run failed in {work}:\n{tail}")
    res = subprocess.run(
        [_python(work), "-m", "mutmut", "results", "--all", "true"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    out = Outcome()
    for line in res.stdout.splitlines():
        name, _, status = line.strip().rpartition(": ")
        if not name or not any(fnmatch.fnmatch(name, n) for n in names):
            continue
        out.total += 1
        if status in ("killed", "caught by type check"):
            out.killed += 1
        elif status in ("survived", "timeout"):
            # a timeout counts as killed, unless the mutant is a known equivalent (on a
            # loaded machine, mutmut's CPU limit can stop one that would have survived)
            show = subprocess.run(
                [_python(work), "-m", "mutmut", "show", name],
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
            )
            diff = [
                ln
                for ln in show.stdout.splitlines()
                if ln[:1] in "+-" and ln[:3] not in ("+++", "---")
            ]
            before = " ".join(ln[1:].strip() for ln in diff if ln[0] == "-")
            after = " ".join(ln[1:].strip() for ln in diff if ln[0] == "+")
            file = _file_of(name, module)
            text = f"{name}: {before!r} -> {after!r}"
            why = is_equivalent(file, before, after)
            if why:
                out.equivalent.append(
                    f"{text} ({why}{', timed out' if status == 'timeout' else ''})"
                )
            elif status == "timeout":
                out.killed += 1
            else:
                out.survivors.append(text)
        else:
            out.other[status] = out.other.get(status, 0) + 1
            out.survivors.append(f"{name}: {status}")
    return out


# ---- SQL mutants ----------------------------------------------------------------------

_SQL_OPERATORS: list[tuple[str, str, str]] = [
    # (name, regex, replacement): applied to one occurrence at a time, outside comments
    ("ge->gt", r">=", ">"),
    ("le->lt", r"<=", "<"),
    ("gt->ge", r"(?<![<>-])>(?!=)", ">="),
    ("lt->le", r"<(?![=>])", "<="),
    ("ne->eq", r"<>", "="),
    ("eq->ne", r"(?<![<>!])=(?!>)", "<>"),
    ("and->or", r"\bAND\b", "OR"),
    ("or->and", r"\bOR\b(?! REPLACE)", "AND"),
    ("drop-not", r"\bNOT\s+(?!NULL|FALSE|TRUE)", ""),
    ("is-true->is-not-false", r"\bIS TRUE\b", "IS NOT FALSE"),
    ("is-not-false->is-true", r"\bIS NOT FALSE\b", "IS TRUE"),
    ("is-null->is-not-null", r"\bIS NULL\b", "IS NOT NULL"),
    ("is-not-null->is-null", r"\bIS NOT NULL\b", "IS NULL"),
    ("desc->asc", r"\bDESC\b", "ASC"),
    ("int+1", r"(?<![\w.$'])\d+(?![\w.'])", "+1"),
    ("string", r"'[^']*'", "'~'"),
    ("row_number->rank", r"\brow_number\(\)", "rank()"),
    ("max->min", r"\bmax\(", "min("),
    ("greatest->least", r"\bgreatest\(", "least("),
]


def sql_mutants(text: str) -> list[tuple[str, int, str]]:
    """(description, line number, mutated text) for every mutant of a SQL file."""
    lines = text.splitlines(keepends=True)
    out = []
    for i, line in enumerate(lines):
        code, sep, comment = line.partition("--")
        if not code.strip():
            continue
        for name, pattern, repl in _SQL_OPERATORS:
            for m in re.finditer(pattern, code):
                new = str(int(m.group()) + 1) if repl == "+1" else repl
                mutated = code[: m.start()] + new + code[m.end() :] + sep + comment
                if mutated != line:
                    out.append(
                        (
                            f"{name}: {line.strip()!r} -> {mutated.strip()!r}",
                            i + 1,
                            "".join(lines[:i] + [mutated] + lines[i + 1 :]),
                        )
                    )
        # drop one condition of a WHERE/ON clause (a whole one: parentheses balanced)
        if re.match(r"\s*AND\b", code) and code.count("(") == code.count(")"):
            out.append(
                (f"drop condition: {line.strip()!r}", i + 1, "".join(lines[:i] + lines[i + 1 :]))
            )
    return out


def _pytest(work: Path, tests: tuple[str, ...], timeout: float) -> tuple[int, float]:
    env = {**os.environ, "PYTHONPATH": str(work)}
    cmd = [
        _python(work),
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        *tests,
    ]
    start = time.monotonic()
    try:
        r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, timeout=timeout)
        code = r.returncode
    except subprocess.TimeoutExpired:
        code = -1
    return code, time.monotonic() - start


def run_sql(
    work: Path, module: Module, verbose: bool, only: tuple[str, ...] | None = None
) -> Outcome:
    """Every SQL mutant of the module, or those whose `FILE:LINE` matches one of `only`."""
    tests = module.sql_tests or module.tests
    code, baseline = _pytest(work, tests, timeout=1800)
    if code != 0:
        raise RuntimeError(f"the tests fail before any SQL mutation ({' '.join(tests)})")
    out = Outcome()
    for rel in module.sql:
        path = work / rel
        original = path.read_text(encoding="utf-8")
        try:
            for desc, lineno, mutated in sql_mutants(original):
                if only is not None and not any(
                    fnmatch.fnmatch(f"{rel}:{lineno}", p) for p in only
                ):
                    continue
                path.write_text(mutated, encoding="utf-8")
                code, _ = _pytest(work, tests, timeout=10 * baseline + 30)
                out.total += 1
                if code != 0:
                    out.killed += 1
                else:
                    before = original.splitlines()[lineno - 1]
                    after = mutated.splitlines()[lineno - 1] if "drop condition" not in desc else ""
                    why = is_equivalent(rel, before, after)
                    text = f"{rel}:{lineno}: {desc}"
                    if why:
                        out.equivalent.append(f"{text} ({why})")
                    else:
                        out.survivors.append(text)
                if verbose:
                    print(
                        f"    {'killed  ' if code else 'SURVIVED'} {rel}:{lineno} {desc}",
                        flush=True,
                    )
        finally:
            path.write_text(original, encoding="utf-8")
    return out


def run_module(name: str, workdir: Path, verbose: bool, only: list[str] | None = None) -> Outcome:
    """One module's mutants (`only`: the `--names` patterns, see the module's docstring)."""
    module = MODULES[name]
    sql_only = None
    if only is not None:
        sql_only = tuple(p for p in only if ".sql:" in p)
        py_only = tuple(p for p in only if ".sql:" not in p)
        module = replace(
            module, python=module.python if py_only else (), sql=module.sql if sql_only else ()
        )
        module = replace(module, names=py_only)
    work = workdir / name
    prepare(work, module)
    total = Outcome()
    parts = []
    if module.sql:
        sql = run_sql(work, module, verbose, sql_only)
        parts.append(f"SQL {sql.killed}/{sql.total}")
        total.add(sql)
    if module.python:
        py = run_mutmut(work, module)
        parts.append(f"Python {py.killed}/{py.total}")
        total.add(py)
    print(
        f"{name:18} {total.share:6.1%} killed ({total.killed} of {total.total} mutants, "
        f"{len(total.equivalent)} equivalent left out; raw {total.raw_share:.1%}; "
        f"{', '.join(parts)})",
        flush=True,
    )
    for s in total.survivors:
        print(f"    survived: {s}", flush=True)
    for s in total.equivalent:
        print(f"    equivalent: {s}", flush=True)
    for status, n in total.other.items():
        print(f"    {status}: {n}", flush=True)
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help=f"default: all of {', '.join(MODULES)}")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "ciblage-mutation"
    )
    parser.add_argument("--keep", action="store_true", help="keep the workspace")
    parser.add_argument("--list", action="store_true", help="list the modules and stop")
    parser.add_argument(
        "--target",
        type=float,
        default=0.9,
        help="exit 1 when a module kills less than this share (default 0.9)",
    )
    parser.add_argument(
        "--names",
        nargs="+",
        metavar="PATTERN",
        help="only these mutants: mutmut names or FILE:LINE of SQL (fnmatch)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="print each SQL mutant")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {unknown}; known: {', '.join(MODULES)}")
    if args.list:
        for name, m in MODULES.items():
            print(f"{name}: {' '.join(m.python + m.sql)}\n    tests: {' '.join(m.tests)}")
            if m.note:
                print(f"    ({m.note})")
        return 0
    results = {}
    failed = []
    try:
        for name in args.modules or list(MODULES):
            try:
                results[name] = run_module(name, args.workdir, args.verbose, args.names)
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                print(f"{name:18} could not run: {exc}", flush=True)
                failed.append(name)
    finally:
        if not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)
    print("\nmodule             killed  (killed / mutants - equivalent; raw)")
    for name, r in results.items():
        print(
            f"{name:18} {r.share:6.1%}  ({r.killed} / {r.total} - {len(r.equivalent)}; "
            f"raw {r.raw_share:.1%})"
        )
    return 0 if not failed and all(r.share >= args.target for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
