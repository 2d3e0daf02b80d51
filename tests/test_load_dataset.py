"""Tests for ui.compute.load_dataset: one process-wide MNIST, and nobody waits on a download."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

import core
from core.data.mnist import MnistError
from ui.compute import LOADING_NOTE, load_dataset

pytestmark = pytest.mark.usefixtures("offline_fresh_caches")


def _full() -> core.Dataset:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(20, 784), dtype=np.uint8)
    return core.Dataset(x, np.arange(20) % 10, x, np.arange(20) % 10, source="full", kind="full")


def test_load_dataset_serves_the_sample_while_another_session_downloads(monkeypatch):
    full = _full()
    started, release = threading.Event(), threading.Event()

    def slow_download(on_progress=None) -> core.Dataset:
        started.set()
        release.wait(5)  # a download that lasts until the test says so
        return full

    monkeypatch.setattr(core, "load_mnist", slow_download)
    first: list[tuple[core.Dataset, str]] = []
    downloader = threading.Thread(target=lambda: first.append(load_dataset()))
    downloader.start()
    try:
        assert started.wait(5)
        start = time.perf_counter()
        data, error = load_dataset()  # a second visitor, while the first still downloads
        waited = time.perf_counter() - start
    finally:
        release.set()
        downloader.join(5)
    assert waited < 1.0
    assert (data.kind, data.note, error) == ("sample", LOADING_NOTE, "")
    assert first == [(full, "")]
    assert load_dataset() == (full, "")  # later runs get what the first session loaded


def test_load_dataset_loads_once_per_process(monkeypatch):
    calls: list[int] = []
    full = _full()
    monkeypatch.setattr(core, "load_mnist", lambda on_progress=None: calls.append(1) or full)
    assert load_dataset() == (full, "")
    assert load_dataset() == (full, "")
    assert calls == [1]


def test_load_dataset_keeps_a_broken_folder_error_with_the_sample(monkeypatch):
    def broken(on_progress=None) -> core.Dataset:
        raise MnistError("MNIST folder /x does not exist or is not a folder")

    monkeypatch.setattr(core, "load_mnist", broken)
    data, error = load_dataset()
    assert (data.kind, data.note) == ("sample", "")
    assert error == "MNIST folder /x does not exist or is not a folder"


def test_load_dataset_retries_after_an_interrupted_load(monkeypatch):
    # Streamlit stops a rerun script by raising from inside a progress callback.
    def interrupted(on_progress=None) -> core.Dataset:
        raise KeyboardInterrupt

    monkeypatch.setattr(core, "load_mnist", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_dataset()
    full = _full()
    monkeypatch.setattr(core, "load_mnist", lambda on_progress=None: full)
    assert load_dataset() == (full, "")  # the lock was released, nothing half-filled
