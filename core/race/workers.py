"""Where a race's jobs run: in worker processes when they can be had, else in threads of this
process, with the same results either way (the same arithmetic in the same order).

A race takes its workers before it allocates anything (`Workers.take`), so that what the
jobs share is allocated where they can all reach it (`memory`: shared files for processes,
plain arrays for threads). Processes fall back to threads when none can be started or made
ready (a sandbox, an interpreter without multiprocessing, a full disk): nothing has run by
then. Once a race has begun in processes, a worker that dies fails the race with
`procs.WorkerDied`; it is never restarted in the middle.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np

from core.data.dataset import Dataset
from core.parallel import Meeting, run_jobs
from core.race import procs
from core.race.procs import Counter, ProcessesUnavailable, ProcessMeeting
from core.race.shared import PRIVATE, Arena, Exports, Memory


class Team(Protocol):
    """Jobs that meet: `members` of them wait at `meeting` (None for a team of one)."""

    meeting: Meeting | ProcessMeeting | None

    @property
    def members(self) -> int: ...


class Workers:
    """The workers of one race: `processes` of the pool, or None for threads."""

    def __init__(self, pool: procs.WorkerPool | None, processes: list | None) -> None:
        self._pool = pool
        self.processes = processes
        self._arena: Arena | None = Arena() if processes else None
        self.memory: Memory = self._arena if self._arena is not None else PRIVATE

    @classmethod
    def take(cls, n_jobs: int, *, processes: bool = True) -> Workers:
        """`n_jobs` worker processes if `processes` and the pool can give them (at most
        `procs.MAX_PROCESSES`), else threads."""
        pool = _pool_for(n_jobs) if processes else None
        if pool is None:
            return cls(None, None)
        try:
            processes = pool.take(n_jobs)
        except ProcessesUnavailable:
            return cls(pool, None)
        workers = cls(pool, processes)
        try:
            workers.memory.empty(1, np.uint8)  # no anonymous file to be had: threads
        except OSError:
            workers.release(healthy=False)
            return cls(pool, None)
        return workers

    def run(
        self,
        jobs: Sequence[Callable[[Counter, int], None]],
        teams: Sequence[Team],
        data: Dataset,
        total_steps: int,
        report_every: int,
        on_report: Callable[[int], None] | None,
    ) -> None:
        """Run `jobs[j](counter, j)` each in its worker, calling `on_report(step)` from this
        thread (see `procs.run_in_processes` and `parallel.run_jobs`)."""
        if self.processes is not None and self._arena is not None:
            try:
                with self._shared(teams, data) as (exports, stop, meetings):
                    procs.run_in_processes(
                        self.processes,
                        jobs,
                        exports,
                        stop,
                        meetings,
                        total_steps,
                        report_every,
                        on_report,
                    )
                return
            except ProcessesUnavailable:  # nothing ran: the same race in threads
                self.release(healthy=False)
        for team in teams:
            team.meeting = Meeting(team.members) if team.members > 1 else None
        meetings = [t.meeting for t in teams if isinstance(t.meeting, Meeting)]
        run_jobs(jobs, total_steps, report_every, on_report, meetings)

    @contextlib.contextmanager
    def _shared(
        self, teams: Sequence[Team], data: Dataset
    ) -> Iterator[tuple[Exports, np.ndarray, list[ProcessMeeting]]]:
        """What the processes of a race share: the digits, a stop flag and each team's
        meeting, closed when the race ends."""
        arena = self._arena
        assert arena is not None
        stop = arena.full(1, 0, np.uint8)
        meetings = []
        for team in teams:
            if team.members > 1:
                team.meeting = ProcessMeeting(team.members, arena.full(1, 0, np.uint8))
                meetings.append(team.meeting)
        exports = Exports(arena)  # after the last allocation: it sends the arena's files
        try:
            exports.share_dataset(data)
            for meeting in meetings:
                meeting.share(exports)
            yield exports, stop, meetings
        finally:
            exports.close()
            for meeting in meetings:
                meeting.close()

    def release(self, *, healthy: bool = True) -> None:
        """Give the processes back to the pool (those still fit for a race) and close the
        shared files (their memory goes with the last array that uses it)."""
        if self.processes is not None and self._pool is not None:
            self._pool.give_back(self.processes, healthy=healthy)
            self.processes = None
        if self._arena is not None:
            self._arena.close()


def start_workers(n_jobs: int) -> None:
    """Start the worker processes that a race of `n_jobs` jobs will take, and return at once:
    the first race of a fresh process then does not wait for them to start (about a second
    each: an interpreter importing NumPy). Does nothing where processes cannot be used, and
    nothing more once they are started."""
    pool = _pool_for(n_jobs)
    if pool is not None:
        pool.start(n_jobs)


def _pool_for(n_jobs: int) -> procs.WorkerPool | None:
    """The pool that gives a race of `n_jobs` jobs its processes; None where it runs in threads
    (no process can be used here, or more jobs than `procs.MAX_PROCESSES`)."""
    return procs.pool() if n_jobs <= procs.MAX_PROCESSES else None
