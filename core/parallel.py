"""Run step-wise jobs in threads while the caller's own thread reports their progress, with
BLAS held to one thread for as long as core's work runs. A race runs its jobs in worker
processes (`core.race.procs`); threads are where no process can start (`core.race.workers`).

Why threads and not BLAS threads: the products of this app are small, so OpenBLAS's threads
gain little on an idle machine (8 % measured on W) and lose 15-30× on a busy one, where they
spin waiting for a core another process holds. Jobs in Python threads, each with one BLAS
thread, release the GIL inside NumPy and simply wait their turn when cores are busy.

The limit is scoped (`one_blas_thread`): importing core changes nothing, and a notebook's own
NumPy or PyTorch work keeps its threads before and after a race.

The caller's thread is the only one that calls `on_report`: a UI (Streamlit) can only draw
from its own script thread. If `on_report` raises (a UI stopping a run), the jobs are told to
stop at their next step.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import ParamSpec, TypeVar

from threadpoolctl import OpenBLASController, ThreadpoolController

# How long the reporting thread sleeps at most between looks, in seconds: a job that dies
# without notifying is noticed within this time.
_POLL_SECONDS = 0.5

_P = ParamSpec("_P")
_R = TypeVar("_R")


class _SharedBlasLimit:
    """One BLAS thread while at least one of core's calls runs, the process's own setting
    otherwise.

    OpenBLAS's thread count is process-wide, so concurrent calls (two races on one server)
    share one limit: the first to start sets it, the last to end restores it, each in its own
    thread, under one lock. threadpoolctl (3.8) lets only the thread that set an OpenBLAS
    limit change it again, so independent `with` blocks in the callers' threads would ignore
    each other and restore out of order: the first caller takes that control (the other
    threads' changes are then no-ops while the limit holds), and the last one takes it over
    to restore, then leaves it free (`_free_blas_control`). No thread is started: a thread
    that held the limit had to be scheduled twice per call, and on a busy server each of
    those waits took up to a time slice, more than a whole forward experiment.

    The libraries are looked up once, at the first call (`_blas_controller`): a lookup scans
    every loaded library, ~0.8 ms, as much as a whole forward experiment should take.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._users = 0
        self._restore: Callable[[], object] | None = None  # puts back the setting found

    @contextlib.contextmanager
    def __call__(self) -> Iterator[None]:
        with self._lock:
            if self._users == 0:
                _free_blas_control()
                limiter = _blas_controller().limit(limits=1, user_api="blas")
                self._restore = limiter.restore_original_limits
            self._users += 1
        try:
            yield
        finally:
            with self._lock:
                self._users -= 1
                if self._users == 0 and self._restore is not None:
                    _free_blas_control()  # the first caller's thread may still hold it
                    self._restore()  # the setting is back before the last call returns
                    self._restore = None
                    _free_blas_control()


def _free_blas_control() -> None:
    """Leave no thread in threadpoolctl's control of OpenBLAS, so that this one can change it.

    A thread of the user's that limited OpenBLAS without a `with` keeps that control, and
    would make core's limit a silent no-op: it is taken over (the user's setting comes back
    at the end). Older threadpoolctl has neither the rule nor this method.
    """
    clear_control = getattr(OpenBLASController, "clear_controlling_thread", None)
    if clear_control is not None:
        clear_control(force=True)


@functools.cache
def _blas_controller() -> ThreadpoolController:
    """The thread pools of the libraries loaded when core first limits them (NumPy's BLAS)."""
    return ThreadpoolController()


one_blas_thread = _SharedBlasLimit()


def with_one_blas_thread(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """`fn`, run under `one_blas_thread()`."""

    @functools.wraps(fn)
    def limited(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with one_blas_thread():
            return fn(*args, **kwargs)

    return limited


class Meeting:
    """Where `parties` threads wait for one another, over and over: a lighter
    `threading.Barrier`. Each party sleeps on its own lock and the last to arrive opens the
    others': 16-20 µs a meeting of two threads, against 36-49 µs for `threading.Barrier` and
    its Condition (measured side by side), and a split race meets 4,000 times.

    `abort` releases every party: `wait` then raises `threading.BrokenBarrierError`, now and
    at every later meeting.
    """

    def __init__(self, parties: int) -> None:
        self._mutex = threading.Lock()
        self._gates = [threading.Lock() for _ in range(parties)]
        for gate in self._gates:
            gate.acquire()  # closed: its party waits on it
        self._waiting: list[int] = []
        self._broken = False

    def wait(self, party: int) -> None:
        """Return once all parties have called `wait` (each with its own index)."""
        with self._mutex:
            if self._broken:
                raise threading.BrokenBarrierError
            if len(self._waiting) + 1 < len(self._gates):
                self._waiting.append(party)
                gate = self._gates[party]
            else:
                for other in self._waiting:
                    self._gates[other].release()
                self._waiting = []
                return
        gate.acquire()
        if self._broken:
            raise threading.BrokenBarrierError

    def give(self, party: int) -> None:
        """One way, for two parties: let the other party's `take` return, now or when it
        comes, without waiting for it."""
        other = 1 - party
        with self._mutex:
            if self._broken:
                return
            if other in self._waiting:
                self._waiting.remove(other)
            self._gates[other].release()

    def take(self, party: int) -> None:
        """Wait for the other party's `give`."""
        with self._mutex:
            if self._broken:
                raise threading.BrokenBarrierError
            self._waiting.append(party)
        self._gates[party].acquire()
        if self._broken:
            raise threading.BrokenBarrierError

    def abort(self) -> None:
        with self._mutex:
            self._broken = True
            for other in self._waiting:
                self._gates[other].release()
            self._waiting = []


class StepCounter:
    """What each job has done, shared between the jobs and the reporting thread."""

    def __init__(self, n_jobs: int, report_every: int) -> None:
        self.done = [0] * n_jobs
        self.report_every = report_every
        self.stopped = threading.Event()
        self.version = 0  # bumped on every event the reporting thread should look at
        self._changed = threading.Condition()

    def advance(self, job: int, step: int) -> bool:
        """Record that `job` finished `step` (the same step may come again: a job that waits
        for another's network); False means: stop now."""
        if step != self.done[job]:
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
    meetings: Sequence[Meeting] = (),
) -> None:
    """Run `jobs[j](counter, j)` in one thread each; call `on_report(step)` from this thread
    whenever every job has passed another multiple of `report_every`, and at the end.

    `meetings` are where the jobs wait for one another: they are broken when the run stops (a
    job failed, or `on_report` raised), so that no job waits for one that has left. A job that
    finds its meeting broken should simply return. A job's exception is re-raised here after
    the other jobs have stopped.
    """
    counter = StepCounter(len(jobs), report_every)
    errors: list[BaseException] = []

    def stop() -> None:
        counter.stopped.set()
        for meeting in meetings:
            meeting.abort()

    def guarded(job: Callable[[StepCounter, int], None], index: int) -> None:
        try:
            job(counter, index)
        except BaseException as e:  # handed to the caller's thread
            errors.append(e)
            stop()
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
        stop()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
