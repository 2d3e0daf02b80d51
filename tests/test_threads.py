"""BLAS threads: importing core changes nothing, and core's one-thread limit lasts exactly as
long as its own work (two concurrent races included). Each check runs in a fresh interpreter,
so that what this test process has already imported or limited cannot decide the outcome.
Then the meetings where a race's workers, threads or processes, wait for one another."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.parallel import Meeting
from core.race.procs import ProcessMeeting

ROOT = Path(__file__).resolve().parents[1]

# Prints one JSON object of BLAS thread counts (a list: one per BLAS library NumPy loaded).
PRELUDE = """
import json, threading
import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

def blas_threads():
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]

threadpool_limits(limits=2, user_api="blas")  # what a user's own code may have set
seen = {"before import": blas_threads()}
"""

TINY_DATA = """
rng = np.random.default_rng(0)
data = core.Dataset(
    rng.integers(0, 256, (64, 784), dtype=np.uint8), rng.integers(0, 10, 64),
    rng.integers(0, 256, (16, 784), dtype=np.uint8), rng.integers(0, 10, 16), source="random",
)
"""


def _blas_threads_seen(*script: str) -> dict[str, list[int]]:
    """Run PRELUDE, then the parts of `script`, in a fresh interpreter; return its `seen`."""
    body = "".join(textwrap.dedent(part) for part in script)
    code = PRELUDE + body + "\nprint(json.dumps(seen))\n"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["before import"], "NumPy's BLAS was not found"
    return seen


def test_importing_core_and_racing_leave_blas_threads_as_they_were() -> None:
    seen = _blas_threads_seen(
        """
        import core
        seen["after import"] = blas_threads()
        """,
        TINY_DATA,
        """
        during = []
        core.train_compare(
            ["he_normal", "std_0.01", "lecun_normal"], iterations=4, data=data, workers=2,
            progress_every=2, on_progress=lambda p: during.append(blas_threads()),
        )
        seen["during the race"] = during[0]
        seen["after the race"] = blas_threads()
        core.activation_histograms("relu", "he_normal", n_layers=3, n_samples=50)
        seen["after the histograms"] = blas_threads()
        """,
    )
    before = seen["before import"]
    assert before == [2] * len(before)
    assert seen["after import"] == before
    assert seen["during the race"] == [1] * len(before)
    assert seen["after the race"] == before
    assert seen["after the histograms"] == before


def test_concurrent_races_share_one_limit_and_restore_it_once() -> None:
    """Two races that overlap (two visitors of one server): the limit holds until the last one
    ends, and the process gets its own setting back, whatever order they end in."""
    seen = _blas_threads_seen(
        """
        import core
        """,
        TINY_DATA,
        """
        first_started, second_done = threading.Event(), threading.Event()
        during_first = []

        def first_progress(progress):
            first_started.set()
            if progress.step == 2:  # hold the first race open until the second has ended
                second_done.wait(60)
                during_first.append(blas_threads())

        first = threading.Thread(
            target=core.train_compare,
            args=(["he_normal"],),
            kwargs=dict(iterations=4, data=data, progress_every=2, on_progress=first_progress),
        )
        first.start()
        first_started.wait(60)
        core.train_compare(["std_0.01", "he_normal"], iterations=3, data=data, workers=2)
        second_done.set()
        first.join()
        seen["first race, after the second ended"] = during_first[0]
        seen["after both"] = blas_threads()
        """,
    )
    before = seen["before import"]
    assert seen["first race, after the second ended"] == [1] * len(before)
    assert seen["after both"] == before


def test_a_limit_set_in_one_thread_is_restored_from_another() -> None:
    """The first call to start and the last to end run in different threads, the first still
    alive (and so still the one threadpoolctl lets change OpenBLAS): the setting comes back."""
    seen = _blas_threads_seen(
        """
        from core.parallel import one_blas_thread

        entered, second_in, first_out, done = (threading.Event() for _ in range(4))

        def first():
            with one_blas_thread():
                entered.set()
                second_in.wait(60)
            first_out.set()
            done.wait(60)  # alive while the second call restores the setting

        thread = threading.Thread(target=first)
        thread.start()
        entered.wait(60)
        with one_blas_thread():
            second_in.set()
            first_out.wait(60)
            seen["after the first left"] = blas_threads()
        seen["after both"] = blas_threads()
        done.set()
        thread.join()
        """,
    )
    before = seen["before import"]
    assert seen["after the first left"] == [1] * len(before)
    assert seen["after both"] == before


def test_meeting_holds_each_party_until_all_have_arrived() -> None:
    """Three threads meet 200 times: none is ever a round ahead of another."""
    meeting, rounds = Meeting(3), [0, 0, 0]
    ahead: list[int] = []

    def party(i: int) -> None:
        for r in range(200):
            rounds[i] = r + 1
            meeting.wait(i)
            if max(rounds) - min(rounds) > 1:
                ahead.append(r)
            meeting.wait(i)  # nobody starts the next round before all have checked

    threads = [threading.Thread(target=party, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert rounds == [200, 200, 200]
    assert not ahead


def _two_party_meetings() -> list[object]:
    """A meeting of two of each kind: threads', and processes' (its pipes work between the
    threads of one process too)."""
    return [Meeting(2), ProcessMeeting(2, np.zeros(1, dtype=np.uint8))]


@pytest.mark.parametrize("meeting", _two_party_meetings(), ids=["threads", "processes"])
def test_a_one_way_meeting_holds_the_taker_until_the_giver_has_been(meeting: Any) -> None:
    """`give` never waits; `take` returns once a `give` came, before or after it."""
    meeting.give(0)
    meeting.take(1)  # the give came first: at once
    taken: list[float] = []
    t = threading.Thread(target=lambda: (meeting.take(1), taken.append(time.perf_counter())))
    t.start()
    time.sleep(0.2)
    assert not taken  # no give yet
    given = time.perf_counter()
    meeting.give(0)
    t.join(timeout=60)
    assert taken and taken[0] >= given


def _waits(meeting: Any, how: str) -> None:
    """Party 0's `wait`, or party 1's one-way `take`."""
    if how == "wait":
        meeting.wait(0)
    else:
        meeting.take(1)


@pytest.mark.parametrize(
    ("meeting", "how"),
    [(Meeting(2), "wait"), *((m, "take") for m in _two_party_meetings())],
    ids=["threads, wait", "threads, take", "processes, take"],
)
def test_an_aborted_meeting_releases_the_waiting_and_refuses_later_arrivals(
    meeting: Any, how: str
) -> None:
    outcome: list[str] = []

    def waits() -> None:
        try:
            _waits(meeting, how)
        except threading.BrokenBarrierError:
            outcome.append("released")

    t = threading.Thread(target=waits)
    t.start()
    time.sleep(0.2)  # inside, waiting (or, on a slow machine, arriving after the abort)
    meeting.abort()
    t.join(timeout=60)
    assert outcome == ["released"]
    with pytest.raises(threading.BrokenBarrierError):
        _waits(meeting, how)
