"""Prefect task runners of the stages' fan-outs (the per-agency files of `publish`).

Chosen from `[runs]` of ciblage.toml, outside the flows so that a flow's module can be
replaced by a test double without losing the choice.
"""

from __future__ import annotations

from typing import Any

from ciblage.config import Settings


def publish_task_runner(settings: Settings, territory: str = "all") -> Any | None:
    """Task runner of the per-agency fan-out.

    `[runs] dask_address = "tcp://scheduler:8786"` uses an existing Dask cluster (runs
    larger than one machine); `dask_workers = N` starts a local cluster of N workers.
    Otherwise `publish_processes` worker processes (default: one per core; 0 or 1 =
    threads in the flow's process): writing XLSX and HTML is pure Python, so threads share
    one core, and all of France has hundreds of agencies. A territory rerun (a handful of
    agencies) stays on threads: each spawned worker re-imports Prefect and the publication
    first, which cost more than it saved (dep:45 on the sample, load 12: publish flow 55 s
    with 2 worker processes, 19 s on threads; bench/territory_rerun.py).
    """
    import os

    opts = settings.section("runs")
    if opts.get("dask_address") or opts.get("dask_workers"):
        from prefect_dask import DaskTaskRunner

        if opts.get("dask_address"):
            return DaskTaskRunner(address=str(opts["dask_address"]))
        return DaskTaskRunner(
            cluster_kwargs={"n_workers": int(opts["dask_workers"]), "processes": True}
        )
    processes = int(opts.get("publish_processes", os.cpu_count() or 1))
    if processes <= 1 or territory != "all":
        return None
    from prefect.task_runners import ProcessPoolTaskRunner

    return ProcessPoolTaskRunner(max_workers=processes)
