"""The `[scoring]` section of ciblage.toml as typed options, read once per stage."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ciblage.config import Settings
from scoring.model import TrainConfig
from scoring.registry import training_settings_digest
from scoring.scorer import workers_setting


@dataclass(frozen=True)
class ScoringOptions:
    """The [scoring] section of ciblage.toml (every key optional)."""

    train: TrainConfig
    step_months: int = 6
    n_snapshots: int = 4
    dpae_lag_days: int = 45
    prior_weight: float | None = None  # None: estimated from the data (scoring/rome_mix.py)
    min_share: float = 0.02
    min_potential_for_reasons: int = 10
    rome_min_p_hire: float = 0.005
    keep_as_of: int = 3
    label_mode: str | None = None
    # Python threads scoring chunks side by side (scoring/scorer.py); "auto": one per core
    predict_workers: int = 1
    # DuckDB's memory for the feature SQL and score tables (it spills beyond): its default,
    # 80 % of the machine, took the score stage to 6.7 GiB at 5 % of France; 4 GB ran the
    # national night 2 out of memory building the per-ROME rows, 6 GB went through
    memory_limit: str = "6GB"
    # a national run reuses a model trained for an as-of at most this many days earlier
    # with the same training settings (0: it retrains every time)
    retrain_days: int = 7
    settings_digest: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> ScoringOptions:
        s = settings.section("scoring")
        train = TrainConfig.from_section(s)
        return cls(
            train=train,
            step_months=int(s.get("snapshot_step_months", 6)),
            n_snapshots=int(s.get("n_snapshots", 4)),
            dpae_lag_days=int(s.get("dpae_lag_days", 45)),
            prior_weight=(
                None
                if str(s.get("rome_prior_weight", "auto")) == "auto"
                else float(s["rome_prior_weight"])
            ),
            min_share=float(s.get("rome_min_share", 0.02)),
            min_potential_for_reasons=int(s.get("min_potential_for_reasons", 10)),
            rome_min_p_hire=float(s.get("rome_min_p_hire", 0.005)),
            keep_as_of=int(s.get("keep_as_of", 3)),
            label_mode=s.get("label_mode") or None,
            predict_workers=workers_setting(s.get("predict_workers", "auto")),
            memory_limit=str(s.get("memory_limit", cls.memory_limit)),
            retrain_days=int(s.get("retrain_days", 7)),
            settings_digest=training_settings_digest(
                s, settings.horizon_months, asdict(train.base)
            ),
        )
