"""Shared fixtures: the test seed (env TEST_SEED: "0", "0-9" or "all") and a Generator from it;
for the app's tests, an offline environment with fresh caches, an AppTest of the app, and the
page on a first visit and after a short race for the tests that only read it."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.testing.v1 import AppTest

    from core.data.dataset import Dataset


def _seeds() -> list[int]:
    spec = os.environ.get("TEST_SEED", "0")
    if spec == "all":
        return list(range(100))
    if "-" in spec:
        low, high = (int(s) for s in spec.split("-"))
        return list(range(low, high + 1))
    return [int(spec)]


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """The everyday loop, `-m "not slow and not browser"`, runs on every core (pytest-xdist):
    its thousand short tests took 73 s in one process and take 43 s in two, on two cores. The
    full run stays in one process unless `-n` says otherwise, so that the browser tests' and the
    slow races' timings share the machine with nothing else. `-n 0` keeps any run in one."""
    selection = " ".join((config.option.markexpr or "").split())
    everyday = "not slow" in selection and "not browser" in selection
    unset = getattr(config.option, "numprocesses", False) is None  # False: no xdist
    if everyday and unset and not hasattr(config, "workerinput"):
        config.option.numprocesses = "auto"


def pytest_report_header() -> str:
    return f"TEST_SEED: {os.environ.get('TEST_SEED', '0')}"


@pytest.fixture(params=_seeds())
def seed(request: pytest.FixtureRequest) -> int:
    return request.param


@pytest.fixture
def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


@pytest.fixture(scope="session", autouse=True)
def blas_on_one_thread() -> Iterator[None]:
    """The tests' own NumPy work on one BLAS thread, as core runs its own: on a busy machine
    OpenBLAS's second thread spins for a core another process holds (a 784×100 QR took 0.2 to
    2 s instead of 10 ms). Core's limit, and how it gives a process its own setting back, are
    checked in fresh interpreters (test_threads.py, the worker processes), out of its reach."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def global_rng_untouched() -> Iterator[None]:
    """Fails the test if anything it ran drew from NumPy's legacy global random state."""
    before = np.random.get_state()[1].copy()  # noqa: NPY002 (reading it is the point)
    yield
    assert np.array_equal(np.random.get_state()[1], before)  # noqa: NPY002


@pytest.fixture
def races_in_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Races run their workers as threads of this process, where a test's monkeypatching of
    core reaches them (worker processes import core afresh)."""
    from core.race import procs

    monkeypatch.setattr(procs, "pool", lambda: None)


@contextlib.contextmanager
def _offline(patch: pytest.MonkeyPatch, cache_dir: Path) -> Iterator[None]:
    """No network, no user MNIST, an MNIST cache in `cache_dir`, and Streamlit's caches empty
    before and after."""
    import streamlit as st

    patch.setenv("INITLAB_OFFLINE", "1")
    patch.setenv("INITLAB_CACHE_DIR", str(cache_dir))
    patch.delenv("INITLAB_MNIST_DIR", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        yield
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()


@pytest.fixture
def offline_fresh_caches(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No network, no user MNIST, and no cache state leaking between tests. App test modules
    use it for every test; Streamlit is imported here only when they do."""
    with _offline(monkeypatch, tmp_path / "mnist-cache"):
        yield


@pytest.fixture(scope="session")
def streamlit_server_state() -> Iterator[BidiComponentManager]:
    """What a Streamlit server keeps for all its sessions and reruns, kept for all the
    AppTests of a test session: the compiled page and the components found among the installed
    packages. An AppTest would compile the page afresh at every run (~40 ms) and look for
    components at its first (~0.1 s). Both are AppTest's internals (Streamlit 1.67): where
    they are named otherwise, the AppTests simply do that work again."""
    from streamlit.components.v2.component_manager import BidiComponentManager
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache
    from streamlit.testing.v1 import local_script_runner

    components = BidiComponentManager()
    components.discover_and_register_components(start_file_watching=False)
    scripts = ScriptCache()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(local_script_runner, "ScriptCache", lambda: scripts, raising=False)
        yield components


def _new_app(components: BidiComponentManager) -> AppTest:
    from streamlit.testing.v1 import AppTest

    from tests.apptest_helpers import APP, TIMEOUT

    app = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    app._bidi_component_manager = components
    return app


@pytest.fixture
def at(streamlit_server_state: BidiComponentManager) -> AppTest:
    return _new_app(streamlit_server_state)


# The pages below are run once for all the tests that only read them: those tests must not
# change a control or run the page again.


def _kept_page(
    components: BidiComponentManager,
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    then: Callable[[AppTest], object] | None = None,
) -> AppTest:
    """The page run once, offline with caches of its own, then `then` done to it."""
    app = _new_app(components)
    with pytest.MonkeyPatch.context() as patch, _offline(patch, tmp_path_factory.mktemp(name)):
        app.run()
        if then is not None:
            then(app)
    return app


@pytest.fixture(scope="session")
def first_load(
    streamlit_server_state: BidiComponentManager, tmp_path_factory: pytest.TempPathFactory
) -> AppTest:
    """The page as a first visit finds it."""
    return _kept_page(streamlit_server_state, tmp_path_factory, "first")


@pytest.fixture(scope="session")
def raced(
    streamlit_server_state: BidiComponentManager, tmp_path_factory: pytest.TempPathFactory
) -> AppTest:
    """The page after `SHORT_RACE` (its other settings the defaults)."""
    from tests.apptest_helpers import SHORT_RACE, SHORT_RACE_ITERATIONS, train

    race = list(SHORT_RACE)
    return _kept_page(
        streamlit_server_state,
        tmp_path_factory,
        "raced",
        lambda app: train(app, iterations=SHORT_RACE_ITERATIONS, race=race),
    )


@pytest.fixture(scope="module")
def digits() -> Dataset:
    """The bundled real MNIST digits."""
    from core.data.mnist import load_sample

    return load_sample()


@pytest.fixture(scope="module")
def tiny() -> Dataset:
    """Random 'digits' for protocol tests where learning is beside the point."""
    from core.data.dataset import Dataset

    rng = np.random.default_rng(0)
    return Dataset(
        rng.integers(0, 256, (64, 784), dtype=np.uint8),
        rng.integers(0, 10, 64),
        rng.integers(0, 256, (16, 784), dtype=np.uint8),
        rng.integers(0, 10, 16),
        source="random test digits",
    )
