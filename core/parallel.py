"""Run step-wise jobs in threads while the caller's own thread reports their progress.

Why threads and not BLAS threads: the products of this app are small, so OpenBLAS's threads
gain little on an idle machine (8 % measured on W) and lose 15-30× on a busy one, where they
spin waiting for a core another process holds. Independent jobs in Python threads, each with
one BLAS thread, release the GIL inside NumPy and simply wait their turn when cores are busy.

The caller's thread is the only one that calls `on_report`: a UI (Streamlit) can only draw
from its own script thread. If `on_report` raises (a UI stopping a run), the jobs are told to
stop at their next step.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

# How long the reporting thread sleeps at most between looks, in seconds: a job that dies
# without notifying is noticed within this time.
_POLL_SECONDS = 0.5


class StepCounter:
    """What each job has done, shared between the jobs and the reporting thread."""

    def __init__(self, n_jobs: int, report_every: int) -> None:
        self.done = [0] * n_jobs
        self.report_every = report_every
        self.stopped = threading.Event()
        self.version = 0  # bumped on every event the reporting thread should look at
        self._changed = threading.Condition()

    def advance(self, job: int, step: int) -> bool:
        """Record that `job` finished `step`; False means: stop now."""
        self.done[job] = step
        if step % self.report_every == 0:
            self.wake()
        return not self.stopped.is_set()

    def wake(self) -> None:
        with self._changed:
            self.version += 1
            self._changed.notify_all()

    def wait(self, seen: int) -> None:
        """Sleep until something happened after version `seen` (at once if it already has)."""
        with self._changed:
            self._changed.wait_for(lambda: self.version != seen, _POLL_SECONDS)


def run_jobs(
    jobs: Sequence[Callable[[StepCounter, int], None]],
    total_steps: int,
    report_every: int,
    on_report: Callable[[int], None] | None,
) -> None:
    """Run `jobs[j](counter, j)` in one thread each; call `on_report(step)` from this thread
    whenever every job has passed another multiple of `report_every`, and at the end.

    A job's exception is re-raised here after the other jobs have stopped.
    """
    counter = StepCounter(len(jobs), report_every)
    errors: list[BaseException] = []

    def guarded(job: Callable[[StepCounter, int], None], index: int) -> None:
        try:
            job(counter, index)
        except BaseException as e:  # handed to the caller's thread
            errors.append(e)
            counter.stopped.set()
        finally:
            counter.wake()

    threads = [
        threading.Thread(target=guarded, args=(job, j), name=f"initlab-job-{j}", daemon=True)
        for j, job in enumerate(jobs)
    ]
    for t in threads:
        t.start()
    try:
        reported = 0
        while True:
            seen = counter.version
            alive = any(t.is_alive() for t in threads)
            step = min(counter.done)
            due = step // report_every * report_every
            if errors:
                break
            if on_report is not None and due > reported:
                reported = due
                on_report(due)
            if not alive:
                break
            counter.wait(seen)
        if on_report is not None and not errors and reported < total_steps:
            on_report(total_steps)
    finally:
        counter.stopped.set()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
