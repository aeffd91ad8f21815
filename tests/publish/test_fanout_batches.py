"""The per-agency fan-out in batches: every agency once, a few tasks per CPU."""

from __future__ import annotations

from pipelines.publish import TASKS_PER_CPU, agency_batches


def test_every_agency_in_exactly_one_batch() -> None:
    codes = [f"{i:04d}" for i in range(403)]
    batches = agency_batches(codes, cpus=2)
    assert len(batches) == 2 * TASKS_PER_CPU
    assert sorted(c for b in batches for c in b) == codes
    sizes = {len(b) for b in batches}
    assert max(sizes) - min(sizes) <= 1  # balanced
    # round-robin: each batch mixes the start and the end of the list
    assert batches[0][0] == "0000" and batches[0][-1] >= "0390"


def test_few_agencies_one_per_batch() -> None:
    assert agency_batches(["2419", "2420", "2421", "2422"], cpus=2) == [
        ["2419"],
        ["2420"],
        ["2421"],
        ["2422"],
    ]
    assert agency_batches([], cpus=2) == []
