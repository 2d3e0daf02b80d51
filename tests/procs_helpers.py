"""Tasks the process tests send to worker processes: a worker imports them by name, so they
must live in a module, not in a test function."""

from __future__ import annotations

from typing import Any

from threadpoolctl import threadpool_info

from core.race import training


def fails_in_member_1(run: Any, team: Any, member: int, counter: Any, job: int) -> None:
    """A team member that raises in the second worker, after the first meeting."""
    if member == 1:
        raise MemoryError("worker 1")
    training._train_group(run, team, member, counter, job)


def blas_threads(out: Any, counter: Any, job: int) -> None:
    """Write the worker's BLAS thread counts into `out` (an array the caller shares)."""
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    out[job] = max(counts)
    counter.advance(job, 1)
