"""Worker processes for a race: a small pool started once and reused, the meeting its members
wait at, and the caller's side of a race run in them.

Why processes and not threads: a step of the book's race is some 150 small NumPy calls, and
two threads hand the GIL to each other around every one of them; measured on the book's race
(500 steps), one worker took 2.78 s, two threads 3.55 s, and two processes running the
one-worker race side by side 2.48 s and 2.52 s each. Processes share no GIL.

Workers are fresh interpreters (`subprocess`, fork and exec at once, as multiprocessing's
"spawn" does): a Streamlit server is multithreaded, and a plain fork of it could copy a lock
some other thread holds. Unlike multiprocessing's own workers they never import the caller's
`__main__`, so a script without a `__main__` guard is not run again in every worker. Workers
hold BLAS to one thread from their start, ignore Ctrl-C (the caller decides), and leave when
their connection closes, so none outlives its caller, even one that was killed.

A race sends each worker one task: a pickled callable whose arrays travel by reference
(`core.race.shared`), and the descriptors of the race's memory and meeting pipes. The worker reports
every `report_every` steps over its connection; the caller's thread sleeps on the connections,
so it computes nothing while the workers work, and sees a worker die as the end of its
connection. Stopping (an error, a dead worker, `on_report` raising) sets a flag the
workers read every step and breaks the meetings; a worker that has not left its task within
`STOP_SECONDS` is killed. No step waits without a way out.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import mmap
import multiprocessing
import multiprocessing.connection
import os
import pickle
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np

from core.race.shared import Exports, Imports, SharedFd

MAX_PROCESSES = 8  # a race asking for more workers runs them as threads
IDLE_WORKERS = 2  # workers kept for the next race (one race's worth on the target machine)
READY_SECONDS = 60.0  # a worker not ready by then (importing NumPy on a busy machine) failed
STOP_SECONDS = 10.0  # how long a stopped worker may take to leave its task before it is killed
_POLL_SECONDS = 0.5  # the caller's longest sleep between looks at its workers

_parent_fd: int | None = None  # in a worker: its connection, readable once the caller has gone


class ProcessesUnavailable(RuntimeError):
    """No worker process could be started or made ready: the race runs in threads instead."""


class WorkerDied(RuntimeError):
    """A worker process of a race exited in the middle of it."""


class Counter(Protocol):
    """What a task reports its steps to: `core.parallel.StepCounter` or `_RemoteCounter`."""

    def advance(self, job: int, step: int) -> bool: ...


class ProcessMeeting:
    """Where the members of a team in separate processes wait for one another, over and
    over, on pipes holding tokens. Two members each put a token in the other's pipe and take
    one from their own, so the one that arrives first is woken once, by the other's arrival.
    More members put theirs in member 0's pipe and wait on their own; member 0 takes them all,
    then puts one in each other member's pipe. Blocking reads, no spinning: two processes
    meet in 6-12 µs on an idle machine (measured). `abort` (the caller's) breaks it for good.
    """

    def __init__(self, parties: int, broken: np.ndarray) -> None:
        self.parties = parties
        self._broken = broken  # (1,) uint8 in shared memory: 1 once aborted
        self._reads: list[SharedFd] = []
        self._writes: list[SharedFd] = []
        for _ in range(parties):
            r, w = os.pipe()
            os.set_blocking(r, False)  # a wait that finds no token sleeps in `_take`
            self._reads.append(SharedFd(r))
            self._writes.append(SharedFd(w))

    def share(self, exports: Exports) -> None:
        """Send the pipes with the race's tasks."""
        for fd in (*self._reads, *self._writes):
            exports.add_fd(fd)

    def wait(self, party: int) -> None:
        """Return once all parties have called `wait` (each with its own index)."""
        if self._broken[0]:
            raise threading.BrokenBarrierError
        if self.parties == 2:  # each tells the other it is here: one wake-up, whoever is first
            os.write(self._writes[1 - party], b"\0")
            self._take(party)
        elif party == 0:
            for _ in range(self.parties - 1):
                self._take(0)
            if self._broken[0]:
                raise threading.BrokenBarrierError
            for other in range(1, self.parties):
                os.write(self._writes[other], b"\0")
        else:
            os.write(self._writes[0], b"\0")
            self._take(party)
        if self._broken[0]:
            raise threading.BrokenBarrierError

    def give(self, party: int) -> None:
        """One way, for two parties: let the other party's `take` return, now or when it
        comes, without waiting for it."""
        if not self._broken[0]:
            os.write(self._writes[1 - party], b"\0")

    def take(self, party: int) -> None:
        """Wait for the other party's `give`."""
        if self._broken[0]:
            raise threading.BrokenBarrierError
        self._take(party)
        if self._broken[0]:
            raise threading.BrokenBarrierError

    def _take(self, party: int) -> None:
        """Take one token from `party`'s pipe, sleeping until there is one."""
        fd = self._reads[party]
        while True:
            try:
                if not os.read(fd, 1):
                    raise threading.BrokenBarrierError  # every writer has gone
                return
            except BlockingIOError:
                pass
            watched = [fd] if _parent_fd is None else [fd, _parent_fd]
            readable, _, _ = select.select(watched, [], [])
            if _parent_fd in readable and fd not in readable:
                os._exit(1)  # the caller has gone (it sends nothing while a task runs)

    def abort(self) -> None:
        """Release every party, now and at every later meeting (`BrokenBarrierError`)."""
        self._broken[0] = 1
        for fd in self._writes:
            with contextlib.suppress(OSError):
                os.write(fd, b"\0" * self.parties)

    def close(self) -> None:
        """Close this process's ends of the pipes."""
        for fd in (*self._reads, *self._writes):
            with contextlib.suppress(OSError):
                os.close(fd)
        self._reads, self._writes = [], []


class _RemoteCounter:
    """A worker's `Counter`: every `report_every` steps a line to the caller; the caller's
    stop flag read at every step."""

    def __init__(self, conn: multiprocessing.connection.Connection, stop: np.ndarray, every: int):
        self._conn, self._stop, self._every = conn, stop, every
        self._sent = 0  # the last step reported

    def advance(self, job: int, step: int) -> bool:
        if step % self._every == 0 and step != self._sent:
            self._sent = step
            self._conn.send(("step", step))
        return not self._stop[0]


def _serve(conn: multiprocessing.connection.Connection) -> None:
    """A worker's life: run the tasks the caller sends until its connection closes."""
    global _parent_fd
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    from threadpoolctl import threadpool_limits

    limit = threadpool_limits(limits=1, user_api="blas")  # for this process's whole life
    _parent_fd = conn.fileno()
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            break
        if message is None:
            break
        payload, n_fds, job = message
        try:
            with socket.socket(fileno=os.dup(conn.fileno())) as sock:
                fds = multiprocessing.reduction.recvfds(sock, n_fds) if n_fds else []
            conn.send(_run_task(Imports(fds), payload, conn, job))
        except OSError:  # the caller has gone
            break
    del limit


def _run_task(
    imports: Imports, payload: bytes, conn: multiprocessing.connection.Connection, job: int
) -> tuple[str, object]:
    """Run one task; ("done", None) or ("error", the exception, pickled as it can be)."""
    try:
        task, stop, report_every = imports.loads(payload)  # type: ignore[misc]
        try:
            task(_RemoteCounter(conn, stop, report_every), job)
        finally:
            del task, stop
        return ("done", None)
    except BaseException as e:
        return ("error", _portable(e))
    finally:
        imports.close()


def _portable(e: BaseException) -> BaseException:
    """`e` with the worker's traceback as a note, or a RuntimeError naming it if `e` cannot
    be pickled."""
    text = "".join(traceback.format_exception(e))
    try:
        e.add_note(f"in a worker process:\n{text}")
        pickle.loads(pickle.dumps(e))
        return e
    except Exception:
        return RuntimeError(f"a worker process failed:\n{text}")


class _Worker:
    """One worker process and the caller's end of its connection (a socket pair: the
    worker's end closes when it exits, however it exits, which is how its death is seen)."""

    def __init__(self) -> None:
        mine, theirs = socket.socketpair()
        try:
            env = {**os.environ, **dict.fromkeys(_BLAS_THREAD_VARIABLES, "1")}
            boot = [sys.executable, "-c", _BOOT, str(theirs.fileno()), json.dumps(sys.path)]
            self.process = subprocess.Popen(
                boot, pass_fds=[theirs.fileno()], env=env, stdin=subprocess.DEVNULL
            )
        except BaseException:
            mine.close()
            raise
        finally:
            theirs.close()
        self.conn = multiprocessing.connection.Connection(mine.detach())
        self.ready = False

    def wait_ready(self, deadline: float) -> bool:
        """Whether the worker said it was ready before `deadline` (a monotonic time)."""
        while not self.ready:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                if self.conn.poll(min(left, _POLL_SECONDS)):
                    self.ready = self.conn.recv()[0] == "ready"
                    if not self.ready:
                        return False
            except (EOFError, OSError):
                return False
        return True

    @property
    def alive(self) -> bool:
        """Running, ready or still starting."""
        return self.process.poll() is None and not self.conn.closed

    @property
    def healthy(self) -> bool:
        return self.ready and self.alive

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()

    def stop(self, timeout: float = 1.0) -> None:
        """Ask the worker to leave, then make sure it has."""
        with contextlib.suppress(OSError, ValueError):
            self.conn.send(None)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
        self.conn.close()


# What a worker runs: core from the caller's own path, then `_serve` on the inherited socket.
_BOOT = (
    "import json, sys; sys.path[:0] = json.loads(sys.argv[2]); "
    "from core.race.procs import serve_socket; serve_socket(int(sys.argv[1]))"
)
# Read by BLAS libraries when they load: one thread each in a worker, from its start.
_BLAS_THREAD_VARIABLES = (
    "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS",
)  # fmt: skip


def serve_socket(fd: int) -> None:
    """A worker's entry point: serve the caller on the socket `fd`."""
    _serve(multiprocessing.connection.Connection(fd))


class WorkerPool:
    """Worker processes started on demand, at most `IDLE_WORKERS` kept between races."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()

    def take(self, n: int) -> list[_Worker]:
        """`n` workers for a race, idle ones first; `ProcessesUnavailable` if a new one
        cannot be started (the ones taken are given back)."""
        with self._lock:
            unfit = [w for w in self._idle if not w.alive]  # a starting one is awaited
            fit = [w for w in self._idle if w.alive]
            workers, self._idle = fit[:n], fit[n:]
            self._busy.update(workers)
        for w in unfit:
            w.stop(0)
        try:
            while len(workers) < n:
                worker = _Worker()
                with self._lock:
                    self._busy.add(worker)
                workers.append(worker)
        except Exception as e:
            self.give_back(workers, healthy=False)
            raise ProcessesUnavailable(f"cannot start a worker process: {e!r}") from e
        return workers

    def start(self, n: int) -> None:
        """Start workers until `n` (at most `IDLE_WORKERS`) are idle, without waiting for them:
        the next race takes them with NumPy imported. A worker that cannot start is left to
        that race, which then runs in threads."""
        with self._lock:
            missing = min(n, IDLE_WORKERS) - len(self._idle)
        started = []
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            while len(started) < missing:
                started.append(_Worker())
        with self._lock:
            room = max(0, IDLE_WORKERS - len(self._idle))
            self._idle.extend(started[:room])
        for w in started[room:]:  # another caller started some meanwhile
            w.stop(0)

    def give_back(self, workers: Sequence[_Worker], *, healthy: bool = True) -> None:
        """Keep the healthy workers for the next race (up to `IDLE_WORKERS`), stop the rest."""
        with self._lock:
            self._busy.difference_update(workers)
            keep = [w for w in workers if healthy and w.healthy]
            room = max(0, IDLE_WORKERS - len(self._idle))
            self._idle.extend(keep[:room])
            leaving = [w for w in workers if w not in self._idle]
        for w in leaving:
            w.stop()

    def pids(self) -> list[int]:
        """Process ids of every worker alive, idle or busy."""
        with self._lock:
            workers = [*self._idle, *self._busy]
        return [w.process.pid for w in workers if w.process.poll() is None]

    def close(self) -> None:
        """Stop the idle workers (those of a race that still runs stop with it)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for w in idle:
            w.stop()


_pool_lock = threading.Lock()
_pool: WorkerPool | None = None


def processes_possible() -> bool:
    """Whether worker processes can work here: an interpreter to start, and a way to pass
    descriptors to a running process."""
    posix = os.name == "posix"  # meetings `select` on pipes
    return posix and bool(sys.executable) and multiprocessing.reduction.HAVE_SEND_HANDLE


def pool() -> WorkerPool | None:
    """This process's pool, made at the first race; None where processes cannot be used."""
    global _pool
    with _pool_lock:
        if _pool is None:
            if not processes_possible():
                return None
            _pool = WorkerPool()
            atexit.register(_pool.close)
        return _pool


def run_in_processes(
    workers: Sequence[_Worker],
    tasks: Sequence[Callable[[Counter, int], None]],
    exports: Exports,
    stop: np.ndarray,
    meetings: Sequence[ProcessMeeting],
    total_steps: int,
    report_every: int,
    on_report: Callable[[int], None] | None,
) -> None:
    """Run `tasks[j](counter, j)` in `workers[j]`; call `on_report(step)` from this thread
    whenever every task has passed another multiple of `report_every`, and at the end.

    `stop` (a (1,) uint8 array in shared memory) is set when the race stops. Raises
    `ProcessesUnavailable` if a worker cannot be made ready (nothing has run yet: the
    caller may run the tasks another way), `WorkerDied` if one exits mid-race, and a task's
    own exception after the others have stopped.
    """
    deadline = time.monotonic() + READY_SECONDS
    if not all(w.wait_ready(deadline) for w in workers):
        raise ProcessesUnavailable("a worker process did not start")
    for job, (worker, task) in enumerate(zip(workers, tasks, strict=True)):
        payload = exports.dumps((task, stop, report_every))
        worker.conn.send((payload, len(exports.fds), job))
        if exports.fds:
            with socket.socket(fileno=os.dup(worker.conn.fileno())) as sock:
                multiprocessing.reduction.sendfds(sock, [int(fd) for fd in exports.fds])
    with _stopping(workers, stop, meetings) as race:
        race.follow(total_steps, report_every, on_report)


class _Race:
    """The caller's view of a race in processes: what each worker has reported."""

    def __init__(
        self, workers: Sequence[_Worker], stop: np.ndarray, meetings: Sequence[ProcessMeeting]
    ) -> None:
        self.workers = workers
        self.done = [0] * len(workers)
        self.finished = [False] * len(workers)
        self.dead: list[_Worker] = []
        self.errors: list[BaseException] = []
        self._stop, self._meetings = stop, meetings

    def stop(self) -> None:
        self._stop[0] = 1
        for meeting in self._meetings:
            meeting.abort()

    def listen(self, timeout: float) -> None:
        """Sleep until a worker reports, ends or dies (or `timeout`), and take it in."""
        running = [j for j, done in enumerate(self.finished) if not done]
        waitables: dict[object, int] = {}
        for j in running:
            waitables[self.workers[j].conn] = j
        for ready in multiprocessing.connection.wait(list(waitables), timeout):
            j = waitables[ready]
            if not self.finished[j]:
                self._receive(j)  # a report, its end, or the end of its connection

    def _receive(self, j: int) -> None:
        try:
            while self.workers[j].conn.poll():
                kind, value = self.workers[j].conn.recv()
                if kind == "step":
                    self.done[j] = int(value)
                else:
                    self.finished[j] = True
                    if kind == "error":
                        self.errors.append(value)
                        self.stop()
                    return
        except (EOFError, OSError):
            self._died(j)

    def _died(self, j: int) -> None:
        worker = self.workers[j]
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.process.wait(1)
        self.finished[j] = True
        self.dead.append(worker)
        code = worker.process.returncode
        self.errors.append(WorkerDied(f"worker process {j} of the race exited with code {code}"))
        self.stop()

    def follow(
        self, total_steps: int, report_every: int, on_report: Callable[[int], None] | None
    ) -> None:
        """Report the latest multiple of `report_every` that every worker has passed, until
        all have finished; raise the first error. A caller slower than the workers is not made
        to replay the steps it was busy through (the race's arrays hold them all): replaying
        them made a page that draws at each report finish its race seconds after the workers
        (the book's race: 18 s in the browser for 6 s of training)."""
        reported = 0
        while not self.errors:
            ends = zip(self.done, self.finished, strict=True)
            steps = [total_steps if end else done for done, end in ends]
            due = min(steps) // report_every * report_every
            if on_report is not None and due > reported:
                reported = due
                on_report(reported)
            elif all(self.finished):
                break
            else:
                self.listen(_POLL_SECONDS)
        if self.errors:
            raise self.errors[0]
        if on_report is not None and reported < total_steps:
            on_report(total_steps)


@contextlib.contextmanager
def _stopping(
    workers: Sequence[_Worker], stop: np.ndarray, meetings: Sequence[ProcessMeeting]
) -> Iterator[_Race]:
    """The race, stopped on the way out however it ends: every worker has left its task
    (or been killed) before this returns."""
    race = _Race(workers, stop, meetings)
    try:
        yield race
    finally:
        if not all(race.finished):
            race.stop()
            deadline = time.monotonic() + STOP_SECONDS
            while not all(race.finished) and (left := deadline - time.monotonic()) > 0:
                race.listen(min(left, _POLL_SECONDS))
            for j, done in enumerate(race.finished):
                if not done:  # stuck: it cannot be trusted with another race
                    workers[j].kill()
                    race.dead.append(workers[j])


def _meet_rounds(meeting: ProcessMeeting, rounds: int, counter: Counter, job: int) -> None:
    """Meet `rounds` times (`meeting_seconds`)."""
    for _ in range(rounds):
        meeting.wait(job)
    counter.advance(job, 1)


def meeting_seconds(rounds: int = 2000) -> float:
    """Seconds one meeting of two worker processes takes, both arriving at once (a split race
    meets twice a step); NaN where processes cannot be used."""
    from core.race.shared import Arena  # deferred: only this measurement needs an arena here

    workers_pool = pool()
    if workers_pool is None:
        return float("nan")
    arena = Arena(segment_bytes=mmap.PAGESIZE)
    stop, broken = arena.full(1, 0, np.uint8), arena.full(1, 0, np.uint8)
    meeting = ProcessMeeting(2, broken)
    exports = Exports(arena)
    meeting.share(exports)
    workers = workers_pool.take(2)
    try:
        tasks = [functools.partial(_meet_rounds, meeting, rounds)] * 2
        run_in_processes(workers, tasks, exports, stop, [meeting], 1, 1, None)  # warm
        start = time.perf_counter()
        run_in_processes(workers, tasks, exports, stop, [meeting], 1, 1, None)
        return (time.perf_counter() - start) / rounds
    finally:
        workers_pool.give_back(workers)
        exports.close()
        meeting.close()
        arena.close()
