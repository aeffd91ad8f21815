"""Stage-level resume: a rerun after a failure starts at the first stage that did not finish.

Why the run ledger and not Prefect's task cache: the stages' real output is the
warehouse, not a Python return value, and the ledger row `completed` is written after
the stage's tables are committed, in the same file. So "this stage completed for these
inputs and nothing touched it since" is a fact we can read back, with no result storage
to configure, and the same record feeds `ciblage status`.

A stage is reused when all of these hold:
- its last summary record (step 'stage') is `completed` with the same key, where the key
  hashes the stage parameters, the config file, the inputs fingerprint (files' size and
  mtime; URL sources count as changed each UTC day) and the upstream stage's key;
- no other run of that stage started after it (a standalone rerun changed the data);
- every upstream stage was reused too in this run (once a stage runs, all after it run).
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ciblage.config import Settings
from ciblage.ledger import COMPLETED, last_stage_record, stage_started_since


def _file_sig(path: Path) -> list[Any]:
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return [[str(p.relative_to(path)), *_file_sig(p)] for p in files]
    if path.is_file():
        st = path.stat()
        return [st.st_size, st.st_mtime_ns]
    return ["missing"]


def inputs_fingerprint(settings: Settings, sources: list[str] | None = None) -> str:
    """What ingestion would read: the config text and every selected source's files."""
    parts: dict[str, Any] = {
        "config": hashlib.sha256(settings.config_path.read_bytes()).hexdigest(),
    }
    for name, src in sorted(settings.sources.items()):
        if sources and name not in sources:
            continue
        if src.path is not None:
            parts[name] = ["path", str(src.path), _file_sig(src.path)]
        elif src.url:
            # a remote file may change any day; the ingest flow itself skips unchanged
            # downloads (ETag), so one ingest per day per URL is the right grain here
            parts[name] = ["url", src.url, datetime.now(UTC).date().isoformat()]
    return _digest(parts)


def stage_key(stage: str, params: dict[str, Any], upstream_key: str | None) -> str:
    return _digest({"stage": stage, "params": params, "upstream": upstream_key})


def _digest(obj: Any) -> str:
    blob = json.dumps(obj, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:20]


def reusable_record(settings: Settings, stage: str, key: str) -> dict[str, Any] | None:
    """The completed record this stage can be reused from, or None if it must run."""
    rec = last_stage_record(settings.warehouse, stage)
    if rec is None or rec["status"] != COMPLETED or rec["later_activity"]:
        return None
    return rec if rec["params"].get("key") == key else None


def config_digest(settings: Settings) -> str:
    return hashlib.sha256(settings.config_path.read_bytes()).hexdigest()[:20]


def covering_score_record(settings: Settings, params: dict[str, Any]) -> dict[str, Any] | None:
    """For a territory rerun: the completed score stage whose scores already are this
    rerun's, or None if it must score.

    A rerun does not re-ingest, so its territory's scores are those of the last score
    stage when that stage scored this territory (all of France, or this very territory)
    for the same as-of, horizon and configuration, and nothing changed the warehouse's
    inputs or scores since: no ingest started after it, no other score run after it
    (`later_activity`). Scoring again would write the same rows (the model, the features
    and the prediction are deterministic), a few seconds of a rerun and its imports."""
    rec = last_stage_record(settings.warehouse, "score")
    if rec is None or rec["status"] != COMPLETED or rec["later_activity"]:
        return None
    old = rec["params"]
    if old.get("territory") not in ("all", params.get("territory")):
        return None
    if any(old.get(k) != params.get(k) for k in ("as_of", "horizon_months", "config")):
        return None
    if stage_started_since(settings.warehouse, "ingest", rec["started_at"]):
        return None
    return rec
