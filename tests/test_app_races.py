"""The training race's newer parts under AppTest: race presets, seeds drawn as a band, batch
norm, the training budget they count against, and the claims of each preset's note."""

from __future__ import annotations

import dataclasses
import inspect
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core
from core.data.mnist import load_sample
from tests.apptest_helpers import assert_clean, data_of, loss_chart, spec_of, texts, train
from tests.params import fast_first
from ui import limits, presets, race_queue
from ui.config import DEFAULT_TRAIN, TrainConfig, train_config
from ui.presets import RACE_PRESETS, RacePreset
from ui.settings import RACE_BY_NAME as RACE

pytestmark = pytest.mark.usefixtures("offline_fresh_caches")


def race_config(at: AppTest) -> TrainConfig:
    """What the race's controls say, read back from the widgets."""
    return train_config({name: at.session_state[s.key] for name, s in RACE.items()})


@pytest.mark.parametrize("preset", fast_first(RACE_PRESETS, fast=2, ids=lambda p: p.key))
def test_app_each_race_preset_sets_the_race_and_says_what_to_notice(
    at: AppTest, preset: RacePreset
) -> None:
    at.query_params.update(
        {
            "race.iterations": "300",
            "race.initializers": ["zeros"],
            "race.batch_norm": "true",
            "race.seeds": "2",
        }
    )
    at.run()
    assert "Press Train, then notice" not in texts(at.info)
    at.button(key=preset.key).click().run()
    assert_clean(at)
    assert race_config(at) == preset.config
    assert f"{preset.source}.** Press Train, then notice: {preset.note}" in texts(at.info)
    assert not at.button(key="train").disabled, "every preset fits the demo's budget"


def test_app_race_preset_note_goes_when_the_race_changes(at: AppTest) -> None:
    at.run()
    assert RACE_PRESETS[0].note in texts(at.info), "the default race is the book's"
    at.slider(key=RACE["iterations"].key).set_value(500).run()
    assert_clean(at)
    assert "Press Train, then notice" not in texts(at.info)


def test_race_presets_are_distinct_and_within_budget() -> None:
    keys = [p.key for p in RACE_PRESETS]
    assert len(set(keys)) == len(keys)
    assert len({p.config for p in RACE_PRESETS}) == len(RACE_PRESETS)
    for p in RACE_PRESETS:
        assert limits.training_over_budget(p.config) == ""
        assert presets.active(RACE_PRESETS, p.values) is p
        assert set(p.config.initializers) <= set(core.INITIALIZERS)
        assert p.note.endswith(".")


def test_app_seeds_draw_a_band_and_a_range_per_initializer(at: AppTest) -> None:
    at.run()
    at.slider(key=RACE["seeds"].key).set_value(3)
    train(at, iterations=20, race=["std_0.01", "he_normal"])
    assert_clean(at)
    spec = spec_of(loss_chart(at))
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["line", "area", "line"], "faint raw, the band, then the bold mean"
    curves = data_of(loss_chart(at))
    he = curves[curves["initializer"] == core.INITIALIZERS["he_normal"].label]
    assert (he["low"] <= he["smoothed"] + 1e-12).all() and (
        he["smoothed"] <= he["high"] + 1e-12
    ).all()
    assert (he["high"] - he["low"]).max() > 0, "three draws of He's weights differ"
    table = at.dataframe[-1].value
    assert "Accuracy range" in table.columns
    assert table["Accuracy range"].str.fullmatch(r"\d+\.\d% to \d+\.\d%").all()
    assert "The 6 networks trained together" in texts(at.caption)


def test_app_one_seed_draws_no_band(raced: AppTest) -> None:
    assert_clean(raced)
    marks = [layer["mark"]["type"] for layer in spec_of(loss_chart(raced))["layer"]]
    assert marks == ["line", "line"]
    assert "Accuracy range" not in raced.dataframe[-1].value.columns


@pytest.mark.slow
def test_app_batch_norm_race_lets_std_001_learn(at: AppTest) -> None:
    """The book's §6.3 in the app: the same short race, with and without batch norm."""
    at.run()
    train(at, iterations=300, race=["std_0.01"])
    plain = at.dataframe[-1].value["Final loss"].iloc[0]
    at.toggle(key=RACE["batch_norm"].key).set_value(True)
    at.run()
    at.button(key="train").click().run()
    assert_clean(at)
    normed = at.dataframe[-1].value["Final loss"].iloc[0]
    assert plain == pytest.approx(np.log(10), abs=0.02)
    assert normed < 1.0


def test_training_budget_counts_seeds_and_batch_norm() -> None:
    base = limits.training_cost(DEFAULT_TRAIN)
    assert limits.training_cost(dataclasses.replace(DEFAULT_TRAIN, seeds=3)) == pytest.approx(
        3 * base
    )
    bn = limits.training_cost(dataclasses.replace(DEFAULT_TRAIN, batch_norm=True))
    assert bn == pytest.approx(limits.BATCH_NORM_COST * base)
    assert "seeds" in limits.training_over_budget(dataclasses.replace(DEFAULT_TRAIN, seeds=5))


# --- each race preset's note, against core on the bundled digits (seed 0) ---------------------


@pytest.fixture(scope="module")
def digits() -> core.Dataset:
    return load_sample()


def _race(preset_key: str, digits: core.Dataset) -> core.TrainResult:
    c = next(p for p in RACE_PRESETS if p.key == preset_key).config
    return core.train_compare(**c.train_compare_kwargs(), data=digits)  # type: ignore[arg-type]


def _final(result: core.TrainResult, name: str) -> np.ndarray:
    """Mean loss of the last 50 steps, per seed."""
    return result.losses[name][:, -50:].mean(axis=1)


@pytest.mark.slow
def test_book_race_note_holds(digits: core.Dataset) -> None:
    r = _race("race_book", digits)
    assert _final(r, "std_0.01") == pytest.approx(np.log(10), abs=0.01)
    assert r.test_accuracy["std_0.01"][0] < 0.15
    assert _final(r, "he_normal") < _final(r, "lecun_normal") < 0.5


@pytest.mark.slow
def test_he_fig3_note_holds(digits: core.Dataset) -> None:
    """√(1/n) sits near ln 10 for most of the run (1,500 of 2,000 steps); He trains."""
    r = _race("race_he_fig3", digits)
    stalled = r.losses["lecun_normal"][0, 100:1500]
    assert np.abs(stalled - np.log(10)).mean() < 0.05
    assert _final(r, "he_normal") < 0.2
    assert r.test_accuracy["he_normal"][0] > 0.85


@pytest.mark.slow
def test_batch_norm_note_holds(digits: core.Dataset) -> None:
    r = _race("race_batch_norm", digits)
    for name in r.losses:
        assert _final(r, name) < 0.3
        assert r.test_accuracy[name][0] > 0.85


@pytest.mark.slow
def test_seeds_note_holds(digits: core.Dataset) -> None:
    """The smoothed loss bands of √(1/n) and He do not overlap after the first 100 steps."""
    r = _race("race_seeds", digits)
    smooth = {
        name: np.array([core.smooth_curve(c, 11) for c in curves])[:, 100:]
        for name, curves in r.losses.items()
    }
    assert (smooth["he_normal"].max(axis=0) < smooth["lecun_normal"].min(axis=0)).all()


def test_train_config_passes_every_setting_to_core() -> None:
    """A new race setting must reach core: every field is an argument, but for the depth and
    width, which core takes as the hidden layers' widths."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"layers", "units"}
    kwargs = DEFAULT_TRAIN.train_compare_kwargs()
    assert set(kwargs) == fields | {"hidden"}
    assert set(kwargs) <= set(inspect.signature(core.train_compare).parameters)
    assert kwargs["hidden"] == (DEFAULT_TRAIN.units,) * DEFAULT_TRAIN.layers


# --- the demo's race queue ---------------------------------------------------------------------


def _hold(
    queue: race_queue.RaceQueue, release: threading.Event, started: list[str], name: str
) -> threading.Thread:
    """A visitor's thread: wait in `queue`, note the start, hold the slot until `release`."""

    def visit() -> None:
        with queue.join(lambda place, seconds: None):
            started.append(name)
            release.wait(10)

    thread = threading.Thread(target=visit, daemon=True)
    thread.start()
    return thread


def _wait_until(condition: Callable[[], bool], seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the queue did not move"
        time.sleep(0.01)


def test_race_queue_runs_two_and_serves_the_rest_in_order() -> None:
    queue = race_queue.RaceQueue(slots=2, max_waiting=16)
    releases = [threading.Event() for _ in range(5)]
    started: list[str] = []
    threads = []
    for i, release in enumerate(releases):
        threads.append(_hold(queue, release, started, f"visitor {i}"))
        _wait_until(lambda i=i: len(started) == min(i + 1, 2) and queue.waiting == max(0, i - 1))
    assert started == ["visitor 0", "visitor 1"] and queue.waiting == 3
    for i in range(3):
        releases[i].set()
        _wait_until(lambda i=i: len(started) == i + 3)
    assert started == [f"visitor {i}" for i in range(5)], "first come, first served"
    for release in releases:
        release.set()
    for thread in threads:
        thread.join(5)
    assert queue.waiting == 0


def test_race_queue_tells_the_place_and_a_visitor_who_leaves_gives_it_up() -> None:
    queue = race_queue.RaceQueue(slots=1, max_waiting=16)
    release, started = threading.Event(), []
    holder = _hold(queue, release, started, "runner")
    _wait_until(lambda: started == ["runner"])
    places: list[tuple[int, float]] = []

    def leaves_after_two_looks(place: int, seconds: float) -> None:
        places.append((place, seconds))
        if len(places) == 2:
            raise RuntimeError("the visitor closed the tab")

    with pytest.raises(RuntimeError, match="closed"), queue.join(leaves_after_two_looks):
        pass
    assert [p for p, _ in places] == [1, 1] and all(s > 0 for _, s in places)
    assert queue.waiting == 0, "the place was given up"
    release.set()
    holder.join(5)
    with queue.join(lambda place, seconds: None):
        pass  # the slot came back


def test_race_queue_turns_away_only_a_full_line() -> None:
    queue = race_queue.RaceQueue(slots=1, max_waiting=2)
    release, started = threading.Event(), []
    threads = [_hold(queue, release, started, f"v{i}") for i in range(3)]
    _wait_until(lambda: len(started) == 1 and queue.waiting == 2)
    with pytest.raises(race_queue.QueueFull), queue.join(lambda place, seconds: None):
        pass
    release.set()
    for thread in threads:
        thread.join(5)
    assert sorted(started) == ["v0", "v1", "v2"]


def test_race_queue_gives_the_slot_back_when_training_fails() -> None:
    queue = race_queue.RaceQueue(slots=1)
    for _ in range(3):
        with pytest.raises(ValueError), queue.join(lambda place, seconds: None):
            raise ValueError("bad settings")
    with queue.join(lambda place, seconds: None):
        pass


def test_app_full_queue_says_so_and_keeps_the_page(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    full = race_queue.RaceQueue(slots=1, max_waiting=0)
    release, started = threading.Event(), []
    holder = _hold(full, release, started, "another visitor")
    _wait_until(lambda: started == ["another visitor"])
    monkeypatch.setattr(race_queue, "RACES", full)
    at.run()
    train(at, iterations=20, race=["he_normal"])
    release.set()
    holder.join(5)
    assert not at.exception
    assert "very busy" in texts(at.warning)
    assert len(at.dataframe) == 1, "no results table: nothing trained"


def test_app_waiting_visitor_is_served_when_a_slot_frees(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    busy = race_queue.RaceQueue(slots=1)
    release, started = threading.Event(), []
    holder = _hold(busy, release, started, "another visitor")
    _wait_until(lambda: started == ["another visitor"])
    monkeypatch.setattr(race_queue, "RACES", busy)
    at.run()
    threading.Timer(0.5, release.set).start()  # the race is in line well before then
    train(at, iterations=20, race=["he_normal"])
    holder.join(5)
    assert_clean(at)
    results = at.dataframe[-1].value
    assert list(results["Key"]) == ["he_normal"], "the race trained once the other one ended"
