"""The reasons of the establishments a list or a match shows, computed where they are shown.

Each reason is an ablation (scoring/reasons.py): the model predicts again once per group
of features. At scoring, for the 4.9 M establishments of France at potential 10 or more,
that was two thirds of the prediction step (about a minute of every night), while the
lists show 0.4 M of them and a match five. So the score stage stores predictions only,
and the lists and the matches compute the reasons of their own establishments here, from
the stored features and the model that scored them. The codes are those the score stage
computed before: a row's ablation depends on that row alone, and its prediction (`mu`) is
the stored one.
"""

from __future__ import annotations

from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from ciblage.warehouse import run_sql_file, table_exists
from scoring.errors import ReasonsUnavailable
from scoring.features import matrix
from scoring.model import ScoringModel, load_model
from scoring.options import ScoringOptions
from scoring.reasons import choose
from scoring.registry import BASELINE_SUFFIX, registry_entry

if TYPE_CHECKING:
    from ciblage.config import Settings

REASON_TABLE = "etablissement_reason"
_CODES = "_reason_code"
_FEATURES = "_reason_feature"
# shown establishments up to which their feature rows are copied once (see build_reasons)
COPY_FEATURES_BELOW = 50_000
CHUNK_ROWS = 100_000  # four chunks for all of France's lists: both threads busy


def scoring_model(con: duckdb.DuckDBPyConnection, model_id: str) -> ScoringModel:
    """The model that wrote scores under `model_id` (a `#baseline` id: that model's
    baseline alone, as the score stage rebuilt it), from the model registry."""
    entry = registry_entry(con, model_id)
    if entry is None or not Path(entry["path"]).is_file():
        raise ReasonsUnavailable(
            f"modèle {model_id.removesuffix(BASELINE_SUFFIX)} introuvable (registre des "
            "modèles ou fichier) : les raisons des scores qu'il a produits ne peuvent pas "
            "être calculées ; relancer `ciblage score` pour cet as-of"
        )
    model = load_model(Path(entry["path"]), entry["sha256"])
    return model.as_baseline() if model_id.endswith(BASELINE_SUFFIX) else model


@dataclass(frozen=True)
class ReasonSettings:
    """`min_potential` (`[scoring] min_potential_for_reasons`): below it, the factual
    profile only, without ablation, as at scoring before; `workers` (`[scoring]
    predict_workers`): threads of the ablations (the trees' traversal releases the GIL)."""

    min_potential: int = ScoringOptions.min_potential_for_reasons
    workers: int = 1

    @classmethod
    def from_settings(cls, settings: Settings) -> ReasonSettings:
        opts = ScoringOptions.from_settings(settings)
        return cls(opts.min_potential_for_reasons, opts.predict_workers)


def build_reasons(
    con: duckdb.DuckDBPyConnection,
    shown: str,
    as_of: date,
    opts: ReasonSettings,
    *,
    scores: str = "score_etablissement",
    features: str = "feature_etablissement",
) -> int:
    """Temp table `etablissement_reason` (siret, reasons) of the SIRETs of relation
    `shown` scored at `as_of`; returns its rows.

    The feature rows are read on this connection (`shown` is often a temp table, which
    another cursor would not see), chunk by chunk, while `opts.workers` threads choose
    the reasons of the chunks already read; the codes are inserted once the read is done.
    `scores`, `features`: the score_etablissement and feature_etablissement relations to
    read, a rerun's départements of them (`scoring.ranking.build_target_list`).
    """
    day = f"DATE '{as_of.isoformat()}'"
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _reason_scored AS SELECT s.siret, s.expected_hires, "
        f"s.hiring_potential, s.model_id, s.label_mode FROM {scores} s "
        f"WHERE s.as_of = {day} AND s.siret IN (SELECT siret FROM {shown})"
    )
    models = con.execute(
        "SELECT model_id, label_mode, count(*) FROM _reason_scored GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    if not models:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {REASON_TABLE} (siret VARCHAR, reasons VARCHAR[])"
        )
        con.execute("DROP TABLE IF EXISTS _reason_scored")
        return 0
    if not table_exists(con, "feature_etablissement"):
        raise ReasonsUnavailable(
            "aucune caractéristique d'établissement dans l'entrepôt : les raisons des scores "
            f"du {as_of.isoformat()} ne peuvent pas être calculées ; relancer `ciblage score`"
        )
    # Their feature rows. The table is not stored by territory, so each read scans all of
    # France's establishments (a rerun's `features` select its départements' rows first,
    # and read the other columns of those only): a few (a territory rerun, a match) are
    # copied once for the ablations and the sentences (0.4 s less for dep:45); all of
    # France's lists read the table twice, a copy of their 0.4 M wide rows costing more
    # (1.2 s) than the second read.
    few = sum(int(n) for _m, _l, n in models) <= COPY_FEATURES_BELOW
    features = f"(SELECT * FROM {features} WHERE as_of = {day})"
    if few:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_FEATURES} AS SELECT f.* FROM {features} f "
            "WHERE f.siret IN (SELECT siret FROM _reason_scored)"
        )
        features = _FEATURES
    frames = []
    for model_id, label_mode, n_scored in models:
        model = scoring_model(con, model_id)
        done = _model_codes(con, model, model_id, label_mode, features, opts)
        missing = n_scored - sum(len(d) for d in done)
        if missing > 0:
            raise ReasonsUnavailable(
                f"{missing} établissements notés au "
                f"{as_of.isoformat()} n'ont plus leurs caractéristiques dans l'entrepôt (il ne "
                "garde que celles du dernier scoring) : leurs raisons ne peuvent pas être "
                f"calculées ; relancer `ciblage score --as-of {as_of.isoformat()}`"
            )
        frames += done
    codes = pd.concat(frames, ignore_index=True)
    con.register("_reason_code_df", codes)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_CODES} AS SELECT * FROM _reason_code_df")
    finally:
        con.unregister("_reason_code_df")
    if not few:
        features = f"(SELECT * FROM {features} f WHERE f.siret IN (SELECT siret FROM {_CODES}))"
    run_sql_file(con, REASON_TABLE, codes=_CODES, features=features)
    for table in (_CODES, _FEATURES, "_reason_scored"):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return len(codes)


def _model_codes(
    con: duckdb.DuckDBPyConnection,
    model: ScoringModel,
    model_id: str,
    label_mode: str,
    features: str,
    opts: ReasonSettings,
) -> list[pd.DataFrame]:
    """Reason codes of the `_reason_scored` rows of one model, chunk by chunk."""
    reference = model.metadata["reference"]

    def codes_of(df: pd.DataFrame) -> pd.DataFrame:
        candidates = df["_potential"].to_numpy() >= opts.min_potential
        mu = df["_mu"].to_numpy(dtype=float)
        codes = choose(model, matrix(df), df, reference, label_mode, candidates, mu)
        return _code_frame(df["siret"], codes, label_mode)

    reader = con.sql(
        "SELECT f.*, s.expected_hires AS _mu, s.hiring_potential AS _potential "
        f"FROM {features} f JOIN _reason_scored s USING (siret) "
        f"WHERE s.model_id = '{model_id.replace(chr(39), chr(39) * 2)}'"
    ).to_arrow_reader(CHUNK_ROWS)
    done: list[pd.DataFrame] = []
    workers = max(1, opts.workers)
    with ThreadPoolExecutor(workers, thread_name_prefix="reasons") as pool:
        pending: deque[Future[pd.DataFrame]] = deque()  # at most `workers` chunks in memory
        for batch in reader:
            pending.append(pool.submit(codes_of, batch.to_pandas()))
            if len(pending) >= workers:
                done.append(pending.popleft().result())
        done += [f.result() for f in pending]
    return done


def _code_frame(siret: pd.Series, codes: np.ndarray, label_mode: str) -> pd.DataFrame:
    """siret, r1..r3 (NULL = no reason), label_mode."""
    out = pd.DataFrame({"siret": siret.astype(str).to_numpy()})
    for i in range(3):
        col = pd.array(codes[:, i], dtype="Int16")
        col[codes[:, i] < 0] = pd.NA
        out[f"r{i + 1}"] = col
    out["label_mode"] = label_mode
    return out
