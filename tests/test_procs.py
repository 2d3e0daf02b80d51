"""Races in worker processes: the same results as in threads, failures raised (never a hang),
a fallback to threads when processes cannot start, and nothing left behind."""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import core
from core.data.dataset import Dataset
from core.race import procs, training
from core.race.shared import Arena, Exports
from core.race.training import TrainProgress, TrainResult, train_compare
from tests import procs_helpers
from tests.params import SLOW, fast_first

ROOT = Path(__file__).resolve().parents[1]
BOOK_RACE = ["std_0.01", "lecun_normal", "he_normal"]
ONE_NETWORK = ["he_normal"]  # on two workers, split by the rows of its batch: they meet


@pytest.fixture
def fresh_pool(monkeypatch: pytest.MonkeyPatch) -> Iterator[procs.WorkerPool]:
    """A pool of this test's own, stopped at the end."""
    pool = procs.WorkerPool()
    monkeypatch.setattr(procs, "_pool", pool)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def module_pool() -> Iterator[procs.WorkerPool]:
    pool = procs.WorkerPool()
    yield pool
    pool.close()


@pytest.fixture
def warm_pool(module_pool: procs.WorkerPool, monkeypatch: pytest.MonkeyPatch) -> procs.WorkerPool:
    """A pool of this module's own, kept between the tests that leave its workers fit for
    the next race: they start no worker processes of their own."""
    monkeypatch.setattr(procs, "_pool", module_pool)
    return module_pool


def _in_processes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the races that run in worker processes."""
    seen: list[int] = []
    real = procs.run_in_processes

    def counted(workers, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(len(workers))
        return real(workers, *args, **kwargs)

    monkeypatch.setattr(procs, "run_in_processes", counted)
    return seen


def _assert_same_race(a: TrainResult, b: TrainResult) -> None:
    for name in a.losses:
        assert_array_equal(a.losses[name], b.losses[name])
        assert_array_equal(a.test_accuracy[name], b.test_accuracy[name])
        assert_array_equal(a.distinct_units[name], b.distinct_units[name])
        assert a.diverged_at[name] == b.diverged_at[name]
        assert a.diverged_in[name] == b.diverged_in[name]
        for field in ("act_mean", "act_std", "act_counts", "grad_std", "update_ratio", "measured"):
            assert_array_equal(getattr(a.telemetry[name], field), getattr(b.telemetry[name], field))


@pytest.mark.parametrize(
    ("initializers", "kwargs"),
    [
        (BOOK_RACE, {"workers": 1}),
        (BOOK_RACE, {"workers": 2}),
        (BOOK_RACE[1:], {"workers": 2}),
        (BOOK_RACE[2:], {"workers": 2}),
        # A third worker process starts for it (two are kept): the splits above walk the same
        # paths in the fast loop.
        pytest.param(BOOK_RACE[1:], {"workers": 3}, marks=SLOW),
        (BOOK_RACE, {"workers": 2, "batch_norm": True}),
        (["lsuv", "he_normal", "std_0.01"], {"workers": 2, "optimizer": "adam", "lr": 0.001}),
        (["std_1", "he_normal", "lecun_normal"], {"workers": 2, "lr": 0.1}),
    ],
    ids=["one worker", "networks split 2 + 1", "networks split", "rows split",
         "rows split three ways", "batch norm", "lsuv adam", "a divergence"],
)  # fmt: skip
def test_race_in_processes_equals_the_race_in_threads(
    digits: Dataset,
    monkeypatch: pytest.MonkeyPatch,
    initializers: list[str],
    kwargs: dict[str, object],
) -> None:
    """Processes run the threads' arithmetic in the threads' order: bit for bit the same."""
    seen = _in_processes(monkeypatch)
    race = functools.partial(
        train_compare, initializers, iterations=10, data=digits, progress_every=5, **kwargs
    )
    in_processes = race()
    assert seen, "the race did not run in worker processes"
    monkeypatch.setattr(procs, "pool", lambda: None)
    _assert_same_race(in_processes, race())
    if kwargs.get("lr") == 0.1:
        assert in_processes.diverged_at["std_1"] != (None,)


def test_processes_false_races_in_threads_with_the_same_result(
    digits: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    race = functools.partial(
        train_compare, BOOK_RACE, iterations=10, data=digits, progress_every=5, workers=2
    )
    in_processes = race()
    seen = _in_processes(monkeypatch)
    in_threads = race(processes=False)
    assert not seen, "processes=False started no worker process"
    _assert_same_race(in_processes, in_threads)


def test_a_failing_worker_process_is_raised_not_hung(
    tiny: Dataset, monkeypatch: pytest.MonkeyPatch, warm_pool: procs.WorkerPool
) -> None:
    """A member raising in its process: the error reaches the caller, with the worker's
    traceback; its partner is released from their meeting; both workers are fit for more."""
    monkeypatch.setattr(training, "_train_group", procs_helpers.fails_in_member_1)
    start = time.monotonic()
    with pytest.raises(MemoryError, match="worker 1") as raised:
        train_compare(ONE_NETWORK, iterations=2000, data=tiny, workers=2)
    assert time.monotonic() - start < 30
    assert any("in a worker process" in note for note in raised.value.__notes__)
    assert not warm_pool._busy
    assert len(warm_pool.pids()) == 2
    monkeypatch.undo()
    monkeypatch.setattr(procs, "_pool", warm_pool)
    assert train_compare(BOOK_RACE, iterations=5, data=tiny, workers=2).losses


@pytest.mark.parametrize(
    ("race", "iterations", "victim", "share"),
    [(ONE_NETWORK, 50_000, 0, 0.0), (BOOK_RACE, 4000, 0, 0.5), (BOOK_RACE, 4000, 1, 0.5)],
    ids=["rows split, at once", "at the handover, first", "at the handover, second"],
)
def test_a_killed_worker_fails_the_race_readably(
    tiny: Dataset,
    warm_pool: procs.WorkerPool,
    race: list[str],
    iterations: int,
    victim: int,
    share: float,
) -> None:
    """A worker killed once the race has passed `share` of its steps: `WorkerDied` names it,
    the other one is released from their meeting (a rows split meets twice a step; the book's
    3 networks once, halfway, to hand a network over, whichever worker dies there), the dead
    one is reaped, and the next race starts a new one."""
    killed: list[int] = []

    def kill_one(progress: TrainProgress) -> None:
        if progress.step >= share * progress.iterations and not killed:
            killed.append(warm_pool.pids()[victim])
            os.kill(killed[0], signal.SIGKILL)

    start = time.monotonic()
    with pytest.raises(procs.WorkerDied, match="exited with code -9"):
        train_compare(
            race, iterations=iterations, data=tiny, workers=2, on_progress=kill_one,
            progress_every=10,
        )  # fmt: skip
    assert time.monotonic() - start < 60
    assert killed[0] not in warm_pool.pids()
    assert not warm_pool._busy
    result = train_compare(BOOK_RACE, iterations=5, data=tiny, workers=2)
    assert all(steps == (None,) for steps in result.diverged_at.values())


def test_workers_that_cannot_start_leave_the_race_to_threads(
    tiny: Dataset, monkeypatch: pytest.MonkeyPatch, fresh_pool: procs.WorkerPool
) -> None:
    """No process can be started (a sandbox), or one exits before it is ready (a broken
    interpreter): the race runs in threads, with the same result, at once."""
    expected = train_compare(BOOK_RACE, iterations=10, data=tiny, workers=2)
    fresh_pool.close()

    def refuse(self: object) -> None:
        raise PermissionError("no new processes here")

    with monkeypatch.context() as patch:
        patch.setattr(procs._Worker, "__init__", refuse)
        _assert_same_race(train_compare(BOOK_RACE, iterations=10, data=tiny, workers=2), expected)
    with monkeypatch.context() as patch:
        patch.setattr(procs, "_BOOT", "import sys; sys.exit(3)")
        start = time.monotonic()
        _assert_same_race(train_compare(BOOK_RACE, iterations=10, data=tiny, workers=2), expected)
        assert time.monotonic() - start < 20
    assert not fresh_pool.pids()


def test_a_stopped_race_gives_its_workers_back(tiny: Dataset, warm_pool: procs.WorkerPool) -> None:
    """A UI stops a race by raising from on_progress: the workers leave their task (their
    meeting broken) and wait for the next race."""

    class Stop(Exception):
        pass

    def stop(progress: TrainProgress) -> None:
        raise Stop

    with pytest.raises(Stop):
        train_compare(ONE_NETWORK, iterations=50_000, data=tiny, workers=2, on_progress=stop)
    assert not warm_pool._busy
    assert len(warm_pool.pids()) == 2


def test_workers_run_blas_on_one_thread(warm_pool: procs.WorkerPool) -> None:
    arena = Arena()
    out, stop = arena.full(2, 0, np.int64), arena.full(1, 0, np.uint8)
    exports = Exports(arena)
    workers = warm_pool.take(2)
    try:
        tasks = [functools.partial(procs_helpers.blas_threads, out)] * 2
        procs.run_in_processes(workers, tasks, exports, stop, [], 1, 1, None)
    finally:
        warm_pool.give_back(workers)
        exports.close()
        arena.close()
    assert out.tolist() == [1, 1]


def _open_descriptors() -> list[str]:
    """What this process has open (a mapping of shared memory holds its file until the last
    array using it is freed: collected first)."""
    gc.collect()
    seen = []
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own, closed by now
            seen.append(os.readlink(f"/proc/self/fd/{fd}"))
    return sorted(seen)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="needs /proc")
def test_races_leave_no_descriptors_files_or_processes_behind(
    tiny: Dataset, monkeypatch: pytest.MonkeyPatch, warm_pool: procs.WorkerPool
) -> None:
    """Races that end, fail or are stopped: the same descriptors open as before (the idle
    workers' connections aside), no new file in /dev/shm or the temporary folder, and at most
    `IDLE_WORKERS` processes waiting."""
    train_compare(BOOK_RACE, iterations=3, data=tiny, workers=2)  # workers, spill file ready
    folders = [Path("/dev/shm"), Path(tempfile.gettempdir())]
    before = [sorted(p.name for p in f.iterdir()) if f.exists() else [] for f in folders]
    descriptors = _open_descriptors()
    train_compare(BOOK_RACE, iterations=3, data=tiny, workers=2)
    train_compare(["he_normal", "lecun_normal"], iterations=3, data=tiny, workers=3, seeds=2)
    with monkeypatch.context() as patch:
        patch.setattr(training, "_train_group", procs_helpers.fails_in_member_1)
        with pytest.raises(MemoryError):
            train_compare(ONE_NETWORK, iterations=3, data=tiny, workers=2)
    assert _open_descriptors() == descriptors
    after = [sorted(p.name for p in f.iterdir()) if f.exists() else [] for f in folders]
    assert [[n for n in names if "initlab" in n] for names in after] == [
        [n for n in names if "initlab" in n] for names in before
    ]
    assert len(warm_pool.pids()) <= procs.IDLE_WORKERS


RACE_SCRIPT = """
import json, os, sys, time
import numpy as np
import core
from core.race import procs

rng = np.random.default_rng(0)
data = core.Dataset(
    rng.integers(0, 256, (64, 784), dtype=np.uint8), rng.integers(0, 10, 64),
    rng.integers(0, 256, (16, 784), dtype=np.uint8), rng.integers(0, 10, 16), source="random",
)

def report(progress):
    print(json.dumps(procs.pool().pids()), flush=True)
    if HANG:
        time.sleep(600)  # killed meanwhile

core.train_compare(
    ["std_0.01", "lecun_normal", "he_normal"], iterations=20, data=data, workers=2,
    on_progress=report, progress_every=10,
)
"""


def _gone(pid: int) -> bool:
    """Whether process `pid` has exited (a zombie waiting for a reaper counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return True
    return "State:\tZ" in status


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc")
# Workers leave when their connection ends, and a killed interpreter tells them nothing else:
# the fast loop kills one. A clean exit, which asks them to leave first, runs in the full suite.
@pytest.mark.parametrize("ending", fast_first(["is killed", "exits"]))
def test_workers_leave_with_their_interpreter(ending: str) -> None:
    """Workers never outlive the process that started them, whether it exits or is killed
    in the middle of a race."""
    hang = ending == "is killed"
    script = f"HANG = {hang}\n" + textwrap.dedent(RACE_SCRIPT)
    child = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout is not None
    pids = json.loads(child.stdout.readline())
    assert len(pids) == 2
    if hang:
        child.kill()
    child.wait(120)
    deadline = time.monotonic() + 20
    while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert all(_gone(pid) for pid in pids)


def test_workers_started_ahead_are_the_ones_the_race_takes(
    tiny: Dataset, fresh_pool: procs.WorkerPool
) -> None:
    """`start_race_workers` returns before its workers are ready, starts no more when called
    again, and the next race runs in exactly those processes, as it would have without them."""
    core.start_race_workers(workers=2)
    core.start_race_workers(workers=2)
    started = sorted(fresh_pool.pids())
    assert len(started) == 2
    race = train_compare(BOOK_RACE, iterations=20, data=tiny, workers=2)
    assert sorted(fresh_pool.pids()) == started
    _assert_same_race(race, train_compare(BOOK_RACE, iterations=20, data=tiny, workers=2))


@pytest.mark.parametrize("workers", [0, -1, 2.5, "2", True])
def test_start_race_workers_refuses_what_train_compare_refuses(workers: object) -> None:
    with pytest.raises(ValueError, match="workers must be an integer >= 1"):
        core.start_race_workers(workers)  # type: ignore[arg-type]
