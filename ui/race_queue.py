"""A fair queue for the demo's races: one trains at a time, the others wait in order.

A race already trains on both of the demo's cores, so running more at once would only slow
every one of them down. Visitors beyond the running slots queue first come, first served;
each waiting page hears its place and an estimate of the wait every half second. That call
is also where Streamlit stops the script of a visitor who left or reran, and the queue then
gives their place up, so nobody waits behind a closed tab.
"""

from __future__ import annotations

import collections
import math
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

RUNNING_SLOTS = 1  # a race trains on both cores (`core.train_compare`'s worker processes)
MAX_WAITING = 16  # nobody is turned away while fewer than this many wait
TYPICAL_RACE_SECONDS = 8.0  # the estimate before any race has finished in this process
_RECENT_RACES = 8  # how many finished races the estimate averages
_WAIT_STEP_SECONDS = 0.5


class QueueFull(Exception):
    """`MAX_WAITING` visitors are already waiting."""


class RaceQueue:
    """`slots` races at once; the rest wait in arrival order (one per `join`)."""

    def __init__(self, slots: int = RUNNING_SLOTS, max_waiting: int = MAX_WAITING) -> None:
        self.slots = slots
        self.max_waiting = max_waiting
        self._changed = threading.Condition()
        self._running = 0
        self._waiting: collections.deque[object] = collections.deque()
        self._durations: collections.deque[float] = collections.deque(maxlen=_RECENT_RACES)

    @contextmanager
    def join(self, on_wait: Callable[[int, float], None]) -> Iterator[None]:
        """Hold a running slot for the `with` block, waiting in line for it first.

        While waiting, `on_wait(place, estimated seconds)` is called every half second
        (place 1 is next); if it raises (the visitor left), the place is given up and the
        exception goes on. The slot is given back however the block ends.
        """
        ticket = object()
        with self._changed:
            if self._running >= self.slots and len(self._waiting) >= self.max_waiting:
                raise QueueFull(f"{len(self._waiting)} visitors are already waiting")
            self._waiting.append(ticket)
        try:
            while not self._try_start(ticket):
                with self._changed:
                    place = self._waiting.index(ticket) + 1
                    estimate = self._estimate(place)
                on_wait(place, estimate)
                with self._changed:
                    self._changed.wait(_WAIT_STEP_SECONDS)
        except BaseException:
            with self._changed:
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._changed.notify_all()
            raise
        started = time.monotonic()
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._durations.append(time.monotonic() - started)
                self._changed.notify_all()

    @property
    def waiting(self) -> int:
        with self._changed:
            return len(self._waiting)

    def _try_start(self, ticket: object) -> bool:
        """Start `ticket`'s race if it is first in line and a slot is free."""
        with self._changed:
            if self._waiting[0] is ticket and self._running < self.slots:
                self._waiting.popleft()
                self._running += 1
                self._changed.notify_all()  # the next in line may start too
                return True
            return False

    def _estimate(self, place: int) -> float:
        """Seconds until the visitor at `place` starts: the races ahead of it, run
        `slots` at a time, each as long as the recent ones (the running ones half done)."""
        typical = statistics.median(self._durations) if self._durations else TYPICAL_RACE_SECONDS
        rounds = math.ceil(place / self.slots)
        return typical * (rounds - 0.5)


RACES = RaceQueue()  # this server process's queue, shared by every session
