"""The training race's newer parts under AppTest: race presets, seeds drawn as a band, batch
norm, the training budget they count against, and the claims of each preset's note."""

from __future__ import annotations

import dataclasses
import inspect
import time
from collections.abc import Iterator

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core
from core.mnist import load_sample
from tests.apptest_helpers import assert_clean, data_of, loss_chart, spec_of, texts, train
from ui import limits
from ui.config import DEFAULT_TRAIN, TrainConfig
from ui.controls import RACE_PRESETS, RacePreset, active_race_preset

pytestmark = pytest.mark.usefixtures("offline_fresh_caches")


def race_config(at: AppTest) -> TrainConfig:
    """What the race's controls say, read back from the widgets."""
    return TrainConfig(
        initializers=tuple(at.multiselect(key="race").value),
        activation=at.selectbox(key="tact").value,
        hidden=(at.select_slider(key="units").value,) * at.slider(key="depth").value,
        iterations=at.slider(key="iters").value,
        batch_size=at.select_slider(key="batch").value,
        lr=at.select_slider(key="lr").value,
        optimizer=at.selectbox(key="opt").value,
        seed=int(at.number_input(key="tseed").value),
        seeds=at.slider(key="seeds").value,
        batch_norm=at.toggle(key="tbn").value,
    )


@pytest.mark.parametrize("preset", RACE_PRESETS, ids=[p.key for p in RACE_PRESETS])
def test_app_each_race_preset_sets_the_race_and_says_what_to_notice(
    at: AppTest, preset: RacePreset
) -> None:
    at.query_params.update({"iters": "300", "race": ["zeros"], "tbn": "true", "seeds": "2"})
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
    at.slider(key="iters").set_value(500).run()
    assert_clean(at)
    assert "Press Train, then notice" not in texts(at.info)


def test_race_presets_are_distinct_and_within_budget() -> None:
    keys = [p.key for p in RACE_PRESETS]
    assert len(set(keys)) == len(keys)
    assert len({p.config for p in RACE_PRESETS}) == len(RACE_PRESETS)
    for p in RACE_PRESETS:
        assert limits.training_over_budget(p.config) == ""
        assert active_race_preset(p.config) is p
        assert set(p.config.initializers) <= set(core.INITIALIZERS)
        assert p.note.endswith(".")


def test_app_seeds_draw_a_band_and_a_range_per_initializer(at: AppTest) -> None:
    at.run()
    at.slider(key="seeds").set_value(3)
    train(at, iterations=30, race=["std_0.01", "he_normal"])
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


def test_app_one_seed_draws_no_band(at: AppTest) -> None:
    at.run()
    train(at, iterations=20, race=["he_normal"])
    assert_clean(at)
    marks = [layer["mark"]["type"] for layer in spec_of(loss_chart(at))["layer"]]
    assert marks == ["line", "line"]
    assert "Accuracy range" not in at.dataframe[-1].value.columns


def test_app_batch_norm_race_lets_std_001_learn(at: AppTest) -> None:
    """The book's §6.3 in the app: the same short race, with and without batch norm."""
    at.run()
    train(at, iterations=300, race=["std_0.01"])
    plain = at.dataframe[-1].value["Final loss"].iloc[0]
    at.toggle(key="tbn").set_value(True)
    at.run()
    at.button(key="train").click().run()
    assert_clean(at)
    normed = at.dataframe[-1].value["Final loss"].iloc[0]
    assert plain == pytest.approx(np.log(10), abs=0.02)
    assert normed < 1.0


def test_training_budget_counts_seeds_and_batch_norm() -> None:
    base = limits.training_cost(DEFAULT_TRAIN)
    assert limits.training_cost(TrainConfig(seeds=3)) == pytest.approx(3 * base)
    bn = limits.training_cost(TrainConfig(batch_norm=True))
    assert bn == pytest.approx(limits.BATCH_NORM_COST * base)
    assert "seeds" in limits.training_over_budget(TrainConfig(seeds=5))


# --- each race preset's note, against core on the bundled digits (seed 0) ---------------------


@pytest.fixture(scope="module")
def digits() -> core.Dataset:
    return load_sample()


def _race(preset_key: str, digits: core.Dataset) -> core.TrainResult:
    c = next(p for p in RACE_PRESETS if p.key == preset_key).config
    return core.train_compare(list(c.initializers), **c.train_compare_kwargs(), data=digits)


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
    """A new race setting must reach core: every field but the initializers is an argument."""
    fields = {f.name for f in dataclasses.fields(TrainConfig)} - {"initializers"}
    assert set(DEFAULT_TRAIN.train_compare_kwargs()) == fields
    assert fields <= set(inspect.signature(core.train_compare).parameters)


# --- the demo's race slots ---------------------------------------------------------------------


@pytest.fixture
def all_slots_taken(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Other visitors hold every race slot; waiting for one gives up after 1 s."""
    monkeypatch.setattr(limits, "RACE_QUEUE_SECONDS", 1.0)
    slots = limits._RACE_SLOTS
    for _ in range(limits.MAX_CONCURRENT_RACES):
        assert slots.acquire(timeout=5), "a slot leaked from an earlier test"
    yield
    for _ in range(limits.MAX_CONCURRENT_RACES):
        slots.release()


def test_race_slot_lets_two_run_then_queues_and_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(limits, "RACE_QUEUE_SECONDS", 1.0)
    waits: list[float] = []
    with limits.race_slot(waits.append), limits.race_slot(waits.append):
        assert waits == []
        started = time.monotonic()
        with pytest.raises(limits.DemoBusy, match="busy"), limits.race_slot(waits.append):
            pass
        assert time.monotonic() - started >= limits.RACE_QUEUE_SECONDS
    assert waits and waits == sorted(waits), "the waiting page hears from the queue"
    with limits.race_slot(waits.append), limits.race_slot(waits.append):
        pass  # both slots came back


def test_race_slot_is_given_back_when_training_fails() -> None:
    for _ in range(3):
        with pytest.raises(ValueError), limits.race_slot(lambda _: None):
            raise ValueError("bad settings")
    with limits.race_slot(lambda _: None), limits.race_slot(lambda _: None):
        pass


@pytest.mark.usefixtures("all_slots_taken")
def test_app_busy_demo_says_so_and_keeps_the_page(at: AppTest) -> None:
    at.run()
    train(at, iterations=20, race=["he_normal"])
    assert not at.exception
    assert "This public demo is busy" in texts(at.warning)
    assert len(at.dataframe) == 1, "no results table: nothing trained"
