"""Cache wrappers around core: all of the app's caching lives here.

- The forward pass is cached with `st.cache_data`, keyed by its frozen config (seed included,
  so a cache hit is the same experiment), and returns frames rather than core objects.
- MNIST is loaded once per server process and shared read-only by every session. It is not a
  plain `st.cache_resource` function because a first download reports its progress into the
  page, and Streamlit would replay those progress elements on every later cache hit; and
  because visitors who arrive during that download must not wait for it.
- Training is not cached across sessions: its value is watching the race live, and a cached
  replay cannot draw progress. A session keeps its own result in `st.session_state`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import streamlit as st

import core
from core.data.mnist import DownloadProgress, MnistError
from ui.config import ForwardConfig
from ui.frames import ForwardView, SweepView, forward_view, sweep_view
from ui.i18n import N_


@st.cache_data(max_entries=256, show_spinner=False)
def cached_forward_view(cfg: ForwardConfig) -> ForwardView:
    """`core.activation_histograms` of `cfg`, as frames; raises core's ValueError for bad
    input. The config is the cache key: the seed is in it, so a hit is the same experiment."""
    result = core.activation_histograms(
        cfg.activation,
        cfg.initializer,
        n_layers=cfg.layers,
        width=cfg.width,
        n_samples=cfg.samples,
        seed=cfg.seed,
        exclude_zeros=cfg.exclude_zeros,
        batch_norm=cfg.batch_norm,
    )
    return forward_view(result)


@dataclass(eq=False)
class _DataSlot:
    """The process-wide dataset, filled by the first session that asks for it."""

    lock: threading.Lock = field(default_factory=threading.Lock)  # held by the loading session
    dataset: core.Dataset | None = None
    error: str = ""  # why the user's MNIST folder was refused ("" if it was not)


@st.cache_resource(show_spinner=False)
def _data_slot() -> _DataSlot:
    return _DataSlot()


LOADING_NOTE = N_("another visitor's session is loading it right now; later runs will use it")


def load_dataset(
    on_progress: Callable[[DownloadProgress], None] | None = None,
) -> tuple[core.Dataset, str]:
    """MNIST (or the bundled sample) and the error of a broken user folder, if any.

    The first session loads (and, the first time, downloads) MNIST, reporting to its own
    `on_progress`. Sessions that arrive meanwhile are not made to wait for a download that can
    take minutes: they get the bundled sample at once, with `LOADING_NOTE` saying why, and
    the shared result on a later run.
    """
    slot = _data_slot()
    if slot.dataset is None:
        if not slot.lock.acquire(blocking=False):
            return replace(core.load_sample(), note=LOADING_NOTE), ""
        try:
            if slot.dataset is None:  # the previous holder may have filled it
                try:
                    slot.dataset = core.load_mnist(on_progress=on_progress)
                except MnistError as e:
                    slot.error = str(e)  # set first: a reader that sees the dataset sees it
                    slot.dataset = core.load_sample()
        finally:
            slot.lock.release()
    return slot.dataset, slot.error


SWEEP_SAMPLES = 200  # inputs per network of the σ × depth map


@st.cache_data(max_entries=64, show_spinner=False)
def cached_sweep_view(activation: str, width: int, max_depth: int, seed: int) -> SweepView:
    """`core.depth_sweep` over its default σ grid, as the heat map's frames (0.2-1 s uncached)."""
    sweep = core.depth_sweep(
        activation, max_depth=max_depth, width=width, n_samples=SWEEP_SAMPLES, seed=seed
    )
    return sweep_view(sweep)
