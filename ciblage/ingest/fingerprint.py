"""Fingerprints decide whether a source changed since its last good load.

size + mtime are compared first so that an unchanged 2.5 GB SIRENE zip is not re-hashed
on every nightly run; sha256 is computed only when they differ (a file copied again with
the same content is still a no-op). A load also depends on the SQL that builds its tables
and on the loads of the sources it reads (e.g. establishments read the legal units' P
flag), so those enter the fingerprint too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ciblage.warehouse import SQL_DIR


def files_of(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [path]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            h.update(chunk)
    return h.hexdigest()


def _stat(p: Path) -> dict[str, Any]:
    st = p.stat()
    return {"path": str(p), "size": st.st_size, "mtime": st.st_mtime_ns}


def sql_version(tables: tuple[str, ...]) -> str:
    h = hashlib.sha256()
    for t in tables:
        f = SQL_DIR / f"{t}.sql"
        h.update(f.read_bytes() if f.is_file() else t.encode())
    return h.hexdigest()[:16]


def fingerprint(
    path: Path, tables: tuple[str, ...], deps: dict[str, str], previous: dict | None
) -> dict[str, Any]:
    """Fingerprint of `path` now; reuses `previous` hashes of files whose stat is unchanged."""
    old = {f["path"]: f for f in (previous or {}).get("files", [])}
    files = []
    for p in files_of(path):
        st = _stat(p)
        prev = old.get(st["path"])
        if prev and prev["size"] == st["size"] and prev["mtime"] == st["mtime"]:
            st["sha256"] = prev["sha256"]
        else:
            st["sha256"] = sha256_file(p)
        files.append(st)
    content = hashlib.sha256()
    for f in files:
        content.update(f"{Path(f['path']).name}:{f['sha256']}".encode())
    key = hashlib.sha256(
        json.dumps(
            {"content": content.hexdigest(), "deps": deps, "sql": sql_version(tables)},
            sort_keys=True,
        ).encode()
    ).hexdigest()
    return {"key": key, "files": files, "deps": deps, "sql": sql_version(tables)}
