"""Ingestion test fixtures: the real referentials loaded once per session into a template
warehouse that each test copies, and a `load` helper bound to the test's warehouse.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from ciblage.ingest import load_source, prepare
from ciblage.ingest.load import LoadResult
from ciblage.ingest.runner import selected_specs
from ciblage.ingest.specs import registry

from .files import AS_OF, REF_FILES, REFERENCE

Loader = Callable[..., LoadResult]


@pytest.fixture(scope="session")
def refs_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse with every real referential loaded (built once, copied per test)."""
    path = tmp_path_factory.mktemp("refs") / "refs.duckdb"
    con = duckdb.connect(str(path))
    prepare(con)
    specs = registry()
    for spec in selected_specs(REF_FILES):
        r = load_source(
            con, spec, REFERENCE / REF_FILES[spec.name], run_id="refs", as_of=AS_OF, registry=specs
        )
        assert r.status == "loaded", r.message
    con.close()
    return path


@pytest.fixture()
def wh(tmp_path: Path, refs_template: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """A private warehouse with the referentials, open for the test."""
    dst = tmp_path / "wh.duckdb"
    shutil.copy(refs_template, dst)
    con = duckdb.connect(str(dst))
    prepare(con)
    yield con
    con.close()


@pytest.fixture()
def load(wh: duckdb.DuckDBPyConnection) -> Loader:
    """load(source_name, path, run_id="t1") -> LoadResult, on the test's warehouse."""
    specs = registry()

    def run(
        name: str, path: Path | None, run_id: str = "t1", as_of: date = AS_OF, **kw: object
    ) -> LoadResult:
        return load_source(wh, specs[name], path, run_id=run_id, as_of=as_of, registry=specs, **kw)

    return run
