"""Inside the race, on the page: the three views of a race's telemetry, their controls, their
downloads and the presets' notes (checked against core on the bundled digits)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

import core
from tests.apptest_helpers import assert_clean, data_of, datasets_of, spec_of, texts, train
from ui import presets
from ui.config import DEFAULT_TRAIN
from ui.inside_view import LAYER_KEY, METRIC_KEY
from ui.presets import RACE_PRESETS

pytestmark = pytest.mark.usefixtures("offline_fresh_caches")


def inside_charts(at: AppTest) -> dict[str, Any]:
    """The views inside the race, by the field their y axis draws."""
    found = {}
    for chart in at.get("vega_lite_chart"):
        spec = spec_of(chart)
        inner = spec.get("spec", {})
        layers = inner.get("layer", [inner])
        y = [layer.get("encoding", {}).get("y", {}).get("field") for layer in layers]
        for field, view in (("ratio", "ratio"), ("value", "layers"), ("bin_start", "heat")):
            if field in y and "facet" in spec:
                found[view] = chart
    return found


def test_app_race_draws_the_three_views_inside_it(raced: AppTest) -> None:
    at = raced
    assert_clean(at)
    views = inside_charts(at)
    assert set(views) == {"ratio", "layers", "heat"}
    ratio = datasets_of(views["ratio"])[0]
    heat = data_of(views["heat"])
    assert set(heat["initializer"]) >= {"std = 0.01 (the book's first try)"}
    assert (heat["share"] > 0).all() and (heat["share"] <= 1).all()
    layers = data_of(views["layers"])
    assert sorted(layers["layer"].unique()) == [1, 2, 3, 4]
    assert (ratio["ratio"] > 0).all() and set(ratio["matrix"]) == {"W1", "W2", "W3", "W4", "W out"}
    rule = spec_of(views["ratio"])["spec"]["layer"][1]
    assert rule["mark"]["type"] == "rule" and rule["encoding"]["y"]["datum"] == 1e-3
    names = {b.key.removeprefix("export-") for b in at.get("download_button")}
    assert {"initlab-update-ratio.png", "initlab-heat-layer-4.csv"} <= names


def test_app_race_draws_the_views_inside_it_while_it_trains(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A race longer than the views' interval draws them while it trains, from the
    checkpoints so far (the page's race is made to last that long by an interval of 0)."""
    from ui import training

    drawn: list[tuple[bool, int]] = []
    real = training.render_inside

    def spy(telemetry: Any, *args: Any, live: bool = False, **kwargs: Any) -> None:
        drawn.append((live, min(len(t.steps) for t in telemetry.values())))
        real(telemetry, *args, live=live, **kwargs)

    monkeypatch.setattr(training, "INSIDE_REDRAW_SECONDS", 0.0)
    monkeypatch.setattr(training, "render_inside", spy)
    at.run()
    train(at, iterations=40)
    assert_clean(at)
    live = [checkpoints for is_live, checkpoints in drawn if is_live]
    assert live and live == sorted(live) and live[0] < live[-1]
    assert set(inside_charts(at)) == {"ratio", "layers", "heat"}


@pytest.mark.slow
def test_app_inside_controls_change_the_views(at: AppTest) -> None:
    at.run()
    train(at, iterations=40)
    assert at.session_state[LAYER_KEY] == DEFAULT_TRAIN.layers, "the last layer by default"
    at.segmented_control(key=METRIC_KEY).set_value("act_dead").run()
    assert_clean(at)
    y = spec_of(inside_charts(at)["layers"])["spec"]["encoding"]["y"]
    assert y["axis"]["format"] == "%" and y["scale"]["domain"] == [0, 1]
    at.slider(key=LAYER_KEY).set_value(1).run()
    assert_clean(at)
    assert "hidden layer 1" in spec_of(inside_charts(at)["heat"])["spec"]["encoding"]["y"]["title"]


def test_inside_notes_follow_the_preset_a_race_was_run_with() -> None:
    assert set(presets.inside_notes(DEFAULT_TRAIN)) == {"ratio", "layers", "heat"}
    dying = next(p for p in RACE_PRESETS if p.key == "race_dying_relu")
    assert set(presets.inside_notes(dying.config)) == {"layers"}
    assert (
        presets.inside_notes(DEFAULT_TRAIN.__class__(**{**vars_of(DEFAULT_TRAIN), "seed": 3})) == {}
    )


def vars_of(config: Any) -> dict[str, Any]:
    return {name: getattr(config, name) for name in config.__slots__}


def _race(key: str, digits: core.Dataset) -> core.TrainResult:
    config = next(p for p in RACE_PRESETS if p.key == key).config
    return core.train_compare(**config.train_compare_kwargs(), data=digits)


@pytest.mark.slow
def test_book_race_inside_notes_hold_in_core(digits: core.Dataset) -> None:
    """std 0.01's hidden update ratios stay below 1e-5 while He's stay in 1e-4..1e-2; its
    fourth layer's activation std stays below 1e-3; its last layer sits in the bin at 0."""
    race = _race("race_book", digits)
    small, he = race.telemetry["std_0.01"], race.telemetry["he_normal"]
    assert (small.update_ratio[..., :-1] < 1e-5).all()
    assert ((he.update_ratio[..., :-1] > 1e-4) & (he.update_ratio[..., :-1] < 1e-2)).all()
    assert (small.act_std[..., 3] < 1e-3).all()
    last = small.act_counts[..., -1, :]  # (seeds, checkpoints, bins)
    np.testing.assert_array_equal(last[..., 1:].sum(axis=-1), 0)


@pytest.mark.slow
def test_dying_relu_note_holds_in_core(digits: core.Dataset) -> None:
    """Most of layer 1's units and about half of the others dead within 100 steps, for good,
    while the network still learns."""
    race = _race("race_dying_relu", digits)
    t = race.telemetry["he_normal"]
    after_100 = t.steps >= 100
    dead = t.act_dead[0, after_100]  # (checkpoints from step 100, layers)
    assert (dead[:, 0] > 0.6).all(), dead[:, 0]
    assert (dead[:, 1:] > 0.35).all(), dead[:, 1:]
    assert race.diverged_at["he_normal"] == (None,)
    assert race.test_accuracy["he_normal"][0] > 0.8
    assert core.summarize(race)["he_normal"].final_loss < 0.5


@pytest.mark.slow
def test_app_book_race_shows_what_to_notice_inside(at: AppTest) -> None:
    at.run()
    at.button(key="train").click().run()
    assert_clean(at)
    shown = texts(at.info)
    for note in presets.inside_notes(DEFAULT_TRAIN).values():
        assert note in shown
