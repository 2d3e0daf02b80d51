"""The Streamlit app, run headless with AppTest, plus the pure helpers in `ui/`.

Charts are checked through their data: AppTest exposes an Altair chart as its Vega-Lite spec
(JSON) and Arrow datasets. Every test runs offline (INITLAB_OFFLINE=1) with an empty MNIST
cache folder, so training always uses the bundled sample and nothing is downloaded.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import core
from tests.apptest_helpers import (
    AT_KIND,
    SHORT_RACE,
    SHORT_RACE_ITERATIONS,
    assert_clean,
    data_of,
    datasets_of,
    download_names,
    histogram_chart,
    histograms,
    loss_chart,
    open_expanders,
    other_value,
    spec_of,
    texts,
    train,
    units_chart,
)
from tests.params import fast_first
from ui import charts, frames, limits, presets, text
from ui.config import DEFAULT_FORWARD, DEFAULT_TRAIN
from ui.controls import DRAWN_BY_VIEWS
from ui.errors import REFUSED
from ui.labels import SCALE_LABELS, initializer_label
from ui.presets import PRESETS, Preset
from ui.settings import FWD, Setting
from ui.settings import RACE_BY_NAME as RACE
from ui.training import RUN_KEY, TrainRun
from ui.url_state import same_value
from ui.widgets import FRAMEWORKS_OPEN

pytestmark = pytest.mark.usefixtures("offline_fresh_caches")

# --- first load ------------------------------------------------------------------------------


def test_app_first_load_shows_five_layers_of_histograms(first_load: AppTest) -> None:
    at = first_load
    assert_clean(at)
    spec = spec_of(histogram_chart(at))
    assert spec["facet"]["field"] == "layer"
    assert spec["spec"]["encoding"]["x"]["bin"] == "binned"
    assert spec["spec"]["encoding"]["x2"]["field"] == "bin_end"
    df = histograms(at)
    assert sorted(df["layer"].unique()) == [1, 2, 3, 4, 5]
    assert len(df) == 5 * 30  # 30 bins per layer, counts only: never raw activations
    # Sigmoid with std 1 (the book's first figure): every value is counted, range 0..1.
    assert (df.groupby("layer")["count"].sum() == 1000 * 100).all()
    assert df["bin_start"].min() == 0 and df["bin_end"].max() == 1
    assert "saturated" in texts(at.info)
    assert len(at.dataframe) == 1 and len(at.dataframe[0].value) == 5
    assert at.latex and "mathcal{N}" in at.latex[0].value
    assert "bundled sample" in texts(at.caption)


def test_app_first_load_defaults_are_the_books_first_figure(first_load: AppTest) -> None:
    at = first_load
    assert at.sidebar.selectbox(key=FWD["activation"].key).value == "sigmoid"
    assert at.sidebar.selectbox(key=FWD["init"].key).value == "std_1"
    assert at.multiselect(key=RACE["initializers"].key).value == [
        "std_0.01",
        "lecun_normal",
        "he_normal",
    ]
    assert at.slider(key=RACE["iterations"].key).value == 2000
    assert not at.get("vega_lite_chart")[1:], "no training happens before Train is pressed"


# --- every control redraws -------------------------------------------------------------------

SIDEBAR = [s for s in FWD.values() if s.name not in DRAWN_BY_VIEWS and s.applies_when is None]


@pytest.mark.parametrize("setting", fast_first(SIDEBAR, fast=3, ids=lambda s: s.key))
def test_app_each_sidebar_control_redraws(at: AppTest, setting: Setting) -> None:
    key, value = setting.key, other_value(setting)
    if setting.name == "exclude_zeros":  # sigmoid has no zeros to hide: start from ReLU
        at.query_params[FWD["activation"].key] = "relu"
    at.run()
    before = histograms(at)
    getattr(at.sidebar, AT_KIND[setting.kind])(key=key).set_value(value).run()
    assert_clean(at)
    after = histograms(at)
    assert not after.equals(before), f"changing {key} did not change the histograms"
    if setting.name == "layers":
        assert after["layer"].nunique() == value
    if setting.name in ("width", "samples"):
        width = value if setting.name == "width" else DEFAULT_FORWARD.width
        samples = value if setting.name == "samples" else DEFAULT_FORWARD.samples
        assert (after.groupby("layer")["count"].sum() == width * samples).all()


def test_app_custom_std_uses_its_own_input(at: AppTest) -> None:
    at.run()
    at.sidebar.selectbox(key=FWD["init"].key).set_value("custom").run()
    assert_clean(at)
    at.sidebar.number_input(key=FWD["std"].key).set_value(0.01).run()
    assert_clean(at)
    custom = histograms(at)
    at.sidebar.selectbox(key=FWD["init"].key).set_value("std_0.01").run()
    # A custom std of 0.01 is the registry's std_0.01: same draws, same histograms.
    pd.testing.assert_frame_equal(custom, histograms(at))


def test_app_hide_zeros_drops_relus_spike(at: AppTest) -> None:
    at.query_params.update({"fwd.activation": "relu", "fwd.init": "he_normal"})
    at.run()
    with_zeros = histograms(at).groupby("layer")["count"].sum()
    at.sidebar.toggle(key=FWD["exclude_zeros"].key).set_value(True).run()
    without = histograms(at).groupby("layer")["count"].sum()
    assert (without < with_zeros).all()
    zeros = at.dataframe[0].value["Exact zeros"]
    assert ((zeros > 0.3) & (zeros < 0.7)).all(), "the table still reports ReLU's zeros"


def test_app_book_preset_sets_the_sidebar(at: AppTest) -> None:
    at.run()
    at.button(key="preset_relu_he_normal").click().run()
    assert_clean(at)
    assert at.sidebar.selectbox(key=FWD["activation"].key).value == "relu"
    assert at.sidebar.selectbox(key=FWD["init"].key).value == "he_normal"
    assert "steady" in texts(at.info)


@pytest.mark.parametrize("preset", fast_first(PRESETS, fast=2, ids=lambda p: p.key))
def test_app_each_preset_sets_its_controls_and_says_what_to_notice(
    at: AppTest, preset: Preset
) -> None:
    at.query_params.update({"fwd.width": "300", "fwd.layers": "12", "fwd.view": "Std vs depth"})
    at.run()
    assert preset.note not in texts(at.info)
    at.button(key=preset.key).click().run()
    assert_clean(at)
    assert at.sidebar.selectbox(key=FWD["activation"].key).value == preset.activation
    assert at.sidebar.selectbox(key=FWD["init"].key).value == preset.init
    assert at.sidebar.slider(key=FWD["layers"].key).value == preset.layers
    assert at.sidebar.slider(key=FWD["width"].key).value == DEFAULT_FORWARD.width
    assert at.session_state[FWD["view"].key] == preset.view
    assert f"{preset.source}.** Notice: {preset.note}" in texts(at.info)
    assert histograms(at)["layer"].nunique() == preset.layers
    title = spec_of(histogram_chart(at))["spec"]["encoding"]["x"]["title"]
    assert ("∂L/∂z" in title) == (preset.view == "Backward")


def test_app_preset_note_goes_when_its_setting_changes(at: AppTest) -> None:
    fig6 = PRESET_BY_KEY["paper_glorot_fig6_standard"]
    at.run()
    at.button(key=fig6.key).click().run()
    assert fig6.note in texts(at.info)
    at.sidebar.slider(key=FWD["layers"].key).set_value(8).run()
    assert_clean(at)
    assert "Notice:" not in texts(at.info)


def _shown(view: str = "Forward", **names: object) -> dict[str, object]:
    """Session state as the page holds it: the forward settings' defaults, `names` changed."""
    state = {s.key: s.default for s in FWD.values()}
    return {**state, FWD["view"].key: view, **{FWD[n].key: v for n, v in names.items()}}


def test_active_preset_matches_activation_init_depth_and_tab() -> None:
    glorot = {"activation": "tanh", "init": "torch_default"}
    assert presets.active(PRESETS, _shown(**glorot)).key == "paper_glorot_fig6_standard"
    backward = presets.active(PRESETS, _shown("Backward", **glorot))
    assert backward.key == "paper_glorot_fig7_standard"
    assert presets.active(PRESETS, _shown("Std vs depth", **glorot)) is None
    assert presets.active(PRESETS, _shown(activation="relu", init="he_normal", layers=30))
    assert presets.active(PRESETS, _shown(layers=6)) is None
    assert presets.active(PRESETS, _shown(**glorot, width=200)) is None, "notes hold at 100"
    keys = [p.key for p in PRESETS]
    assert len(set(keys)) == len(keys)
    shown = [(p.activation, p.init, p.layers, p.view) for p in PRESETS]
    assert len(set(shown)) == len(shown), "two presets would claim the same figure"
    for p in PRESETS:
        assert p.activation in core.ACTIVATIONS and p.init in core.INITIALIZERS
        assert p.layers <= limits.MAX_LAYERS and p.note.endswith(".")


def _stds(preset: Preset, field: str = "std") -> np.ndarray:
    result = core.activation_histograms(
        preset.activation, preset.init, n_layers=preset.layers, width=100, n_samples=1000, seed=0
    )
    return np.array([getattr(s, field) for s in result.layers])


PRESET_BY_KEY = {p.key: p for p in PRESETS}
# What each preset's note claims, as numbers core must keep producing (width 100, seed 0).
PRESET_CLAIMS = {
    "preset_sigmoid_std_1": lambda p: (_stds(p, "saturated") > 0.4).all(),
    "preset_sigmoid_std_0.01": lambda p: (_stds(p) < 0.03).all(),
    "preset_sigmoid_lecun_normal": lambda p: (
        (_stds(p) / _stds(PRESET_BY_KEY["preset_sigmoid_std_0.01"]) > 7).all()
        and 0.1 < _stds(p).min() < _stds(p).max() < 0.25
    ),
    "preset_relu_std_0.01": lambda p: (np.diff(np.log(_stds(p))) < -np.log(10)).all(),
    "preset_relu_lecun_normal": lambda p: np.allclose(
        np.diff(np.log(_stds(p))).mean(), -np.log(2) / 2, atol=0.1
    ),
    "preset_relu_he_normal": lambda p: (
        np.ptp(_stds(p)) < 0.2 and np.allclose(_stds(p, "grad_std"), 0.7, atol=0.1)
    ),
    "paper_glorot_fig6_standard": lambda p: (
        (np.diff(_stds(p)) < 0).all() and _stds(p)[-1] / _stds(p)[0] < 0.12
    ),
    "paper_glorot_fig6_normalized": lambda p: _stds(p)[-1] / _stds(p)[0] > 0.45,
    "paper_glorot_fig7_standard": lambda p: (
        (np.diff(_stds(p, "grad_std")) > 0).all()
        and _stds(p, "grad_std")[0] / _stds(p, "grad_std")[-1] < 0.1
        and np.ptp(np.log(_stds(p, "weight_grad_std"))) < np.log(1.1)
    ),
    "paper_he_fig3_lecun": lambda p: 1e-5 < _stds(p)[-1] < 1e-4,
    "paper_he_fig3_he": lambda p: _stds(p).min() > 0.3 and _stds(p).max() < 3,
}


@pytest.mark.parametrize("preset", PRESETS, ids=[p.key for p in PRESETS])
def test_preset_note_holds_in_core(preset: Preset) -> None:
    assert PRESET_CLAIMS[preset.key](preset)


def code_blocks(at: AppTest) -> str:
    return texts(at.code)


def test_app_expanders_draw_their_content_only_once_opened(first_load: AppTest) -> None:
    """Closed, they hold nothing for the browser to render before the first chart: no code
    block (its highlighter alone costs half a second), no long prose, no table."""
    assert [e.label for e in first_load.expander] == [
        "Same init in PyTorch / Keras",
        "About: what this shows, and why",
        "Every initializer in PyTorch and Keras",
    ]
    assert len(first_load.code) == 0 and len(first_load.table) == 0
    assert "Pitfalls" not in texts(first_load.markdown)
    assert "initlab-frameworks.csv" not in download_names(first_load)


def test_app_opened_expanders_draw_their_content(at: AppTest) -> None:
    open_expanders(at).run()
    assert_clean(at)
    assert len(at.code) == 2 and len(at.table) == 1
    assert "**Pitfalls**" in texts(at.markdown) and "Glorot" in texts(at.markdown)
    assert "initlab-frameworks.csv" in download_names(at)
    at.session_state[FRAMEWORKS_OPEN] = False
    at.run()
    assert len(at.code) == 0 and len(at.table) == 1, "closing one leaves the others open"


def test_app_failing_expander_shows_the_apps_words_and_the_page_goes_on(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An expander is a fragment: its own rerun is guarded like the section around it."""

    def broken() -> list[str]:
        raise RuntimeError("/srv/secret/path.py exploded")

    monkeypatch.setattr(text, "pitfalls", broken)
    open_expanders(at).run()
    assert not at.exception
    assert REFUSED not in texts(at.error)
    assert "/srv/secret" not in texts(at.error) + texts(at.markdown)
    assert len([e for e in at.error if "activations" in e.value]) == 1
    assert at.button(key="train"), "the race below still works"
    assert len(at.table) == 1, "the other expanders still draw"


def test_app_shows_the_chosen_initializers_pytorch_and_keras_calls(at: AppTest) -> None:
    at.query_params.update({"fwd.activation": "relu", "fwd.init": "he_normal"})
    open_expanders(at).run()
    assert_clean(at)
    he = core.INITIALIZERS["he_normal"]
    code = code_blocks(at)
    assert he.torch in code and he.keras in code
    assert 'kaiming_normal_(w, nonlinearity="relu")' in code
    assert "HeNormal() has this variance but is truncated" in code
    assert "(fan_out, fan_in)" in code  # which layout `w` has in PyTorch
    pitfalls = texts(at.markdown)
    assert "1/0.87962566" in pitfalls and "dim 1" in pitfalls
    at.sidebar.selectbox(key=FWD["init"].key).set_value("glorot_uniform").run()
    assert_clean(at)
    code = code_blocks(at)
    assert "torch.nn.init.xavier_uniform_(w)" in code
    assert "keras.initializers.GlorotUniform()" in code
    assert he.torch not in code


def test_app_custom_std_shows_its_framework_calls(at: AppTest) -> None:
    at.query_params.update({"fwd.init": "custom", "fwd.std": "0.3"})
    open_expanders(at).run()
    assert_clean(at)
    code = code_blocks(at)
    assert "torch.nn.init.normal_(w, std=0.3)" in code
    assert "keras.initializers.RandomNormal(stddev=0.3)" in code


def test_app_about_lists_every_initializer_in_both_frameworks(at: AppTest) -> None:
    open_expanders(at).run()
    (table,) = (t.value for t in at.table)
    assert list(table["Key"]) == list(core.INITIALIZERS)
    assert list(table["PyTorch"]) == [i.torch for i in core.INITIALIZERS.values()]
    assert list(table["Keras"]) == [i.keras for i in core.INITIALIZERS.values()]


@pytest.mark.parametrize("setting", fast_first(RACE.values(), fast=3, ids=lambda s: s.key))
def test_app_each_training_control_reruns_cleanly(at: AppTest, setting: Setting) -> None:
    value = other_value(setting)
    at.run()
    widget = getattr(at, AT_KIND[setting.kind])
    widget(key=setting.key).set_value(value).run()
    assert_clean(at)
    assert same_value(setting, widget(key=setting.key).value, value)
    assert not at.button(key="train").disabled


# --- training --------------------------------------------------------------------------------


def test_app_short_training_run_draws_one_curve_per_initializer(raced: AppTest) -> None:
    at = raced
    assert_clean(at)
    curves = data_of(loss_chart(at))
    labels = {core.INITIALIZERS[name].label for name in SHORT_RACE}
    assert set(curves["initializer"]) == labels
    assert curves.groupby("initializer")["step"].max().eq(SHORT_RACE_ITERATIONS).all()
    assert {"loss", "smoothed"} <= set(curves.columns)
    table = at.dataframe[-1].value
    assert list(table["Initializer"]) == [core.INITIALIZERS[name].label for name in SHORT_RACE]
    assert {"Final loss", "Test accuracy", "Status", "Time (s, shared)"} <= set(table.columns)
    assert set(frames.RESULT_COLUMNS) <= set(table.columns)  # every format finds its column
    assert (table["Status"] == "trained").all()
    assert table["Test accuracy"].between(0, 1).all()
    assert "shared wall time" in texts(at.caption)


def test_app_training_result_survives_other_controls(at: AppTest) -> None:
    at.run()
    train(at, iterations=20, race=["he_normal"])
    curves = data_of(loss_chart(at))
    at.sidebar.selectbox(key=FWD["activation"].key).set_value("tanh").run()
    assert_clean(at)
    assert histograms(at)["bin_start"].min() == -1  # the forward view redrew (tanh range)
    pd.testing.assert_frame_equal(data_of(loss_chart(at)), curves)
    at.slider(key=RACE["iterations"].key).set_value(60).run()
    assert "from the last run" in texts(at.caption)


def test_app_diverged_run_is_marked(at: AppTest) -> None:
    at.run()
    at.select_slider(key=RACE["lr"].key).set_value(1.0)
    at.selectbox(key=RACE["activation"].key).set_value("linear")
    train(at, iterations=20, race=["std_1", "he_normal"])
    assert_clean(at)
    table = at.dataframe[-1].value.set_index("Initializer")
    status = table.loc[core.INITIALIZERS["std_1"].label, "Status"]
    assert status.startswith("diverged at step")
    assert math.isnan(table.loc[core.INITIALIZERS["std_1"].label, "Test accuracy"])
    (warning,) = [w.value for w in at.warning if "Diverged" in w.value]
    for label, row in table.iterrows():  # the warning names exactly the diverged ones
        assert (label in warning) == row["Status"].startswith("diverged")


def test_app_trained_race_warns_of_no_divergence(raced: AppTest) -> None:
    assert_clean(raced)
    assert "Diverged" not in texts(raced.warning)


def test_diverged_labels_name_the_seeds_that_diverged() -> None:
    def result(diverged_at: dict[str, tuple[int | None, ...]]) -> core.TrainResult:
        return core.TrainResult(
            losses={},
            test_accuracy={},
            diverged_at=diverged_at,
            labels={"a": "A", "b": "B", "c": "C"},
            seconds=1.0,
            data_source="",
            checkpoints=np.array([0]),
            distinct_units={},
        )

    labels = {"a": "A", "b": "B", "c": "C"}
    assert frames.diverged_labels(result({"a": (None,), "b": (7,)}), labels) == ["B"]
    mixed = result({"a": (None, None, None), "b": (3, None, 9), "c": (1, 2, 3)})
    assert frames.diverged_labels(mixed, labels) == ["B (2 of 3 seeds)", "C"]


def test_app_race_shows_zeros_stays_one_unit_per_layer(at: AppTest) -> None:
    """§6.2.1: units that start identical stay identical; random ones stay all different."""
    at.run()
    at.select_slider(key=RACE["units"].key).set_value(50)
    at.slider(key=RACE["layers"].key).set_value(2)
    train(at, iterations=20, race=["zeros", "he_normal"])
    assert_clean(at)
    units = data_of(units_chart(at))
    zeros, he = (core.INITIALIZERS[n].label for n in ("zeros", "he_normal"))
    assert set(units["initializer"]) == {zeros, he}
    assert set(units["layer"]) == {1, 2}
    assert units["step"].min() == 0 and units["step"].max() == 20
    by_init = units.groupby("initializer")["units"]
    assert by_init.min()[zeros] == by_init.max()[zeros] == 1
    assert by_init.min()[he] == by_init.max()[he] == 50
    assert "stays at 1 distinct unit" in texts(at.caption)


def test_app_stopped_run_stays_on_screen_marked(at: AppTest) -> None:
    """A rerun mid-race stops the script; the curves reported so far stay, marked stopped."""
    losses = {"he_normal": np.linspace(2.3, 1.0, 100)[None]}  # one seed, 100 steps
    at.session_state[RUN_KEY] = TrainRun(DEFAULT_TRAIN, losses, {}, 100, 1.0, core.load_sample())
    at.run()
    assert_clean(at)
    assert "Stopped at step 100 of 2,000" in texts(at.warning)
    assert set(data_of(loss_chart(at))["initializer"]) == {initializer_label("he_normal")}


def test_app_empty_race_disables_train(at: AppTest) -> None:
    at.run()
    at.multiselect(key=RACE["initializers"].key).set_value([]).run()
    assert_clean(at)
    assert at.button(key="train").disabled
    assert "at least one initializer" in texts(at.warning)


# --- URL parameters --------------------------------------------------------------------------


def test_app_url_parameters_set_the_controls(at: AppTest) -> None:
    at.query_params.update(
        {
            "fwd.activation": "relu",
            "fwd.init": "he_normal",
            "fwd.layers": "12",
            "fwd.width": "200",
            "fwd.seed": "3",
            "race.iterations": "500",
            "race.initializers": ["he_normal", "orthogonal"],
        }
    )
    at.run()
    assert_clean(at)
    assert at.sidebar.selectbox(key=FWD["activation"].key).value == "relu"
    assert at.sidebar.selectbox(key=FWD["init"].key).value == "he_normal"
    assert at.sidebar.slider(key=FWD["layers"].key).value == 12
    assert at.sidebar.slider(key=FWD["width"].key).value == 200
    assert at.sidebar.number_input(key=FWD["seed"].key).value == 3
    assert at.slider(key=RACE["iterations"].key).value == 500
    assert at.multiselect(key=RACE["initializers"].key).value == ["he_normal", "orthogonal"]
    assert histograms(at)["layer"].nunique() == 12
    assert "steady" in texts(at.info)


def test_app_url_custom_std(at: AppTest) -> None:
    at.query_params.update({"fwd.init": "custom", "fwd.std": "0.3"})
    at.run()
    assert_clean(at)
    assert at.sidebar.number_input(key=FWD["std"].key).value == pytest.approx(0.3)
    assert "0.3" in at.latex[0].value


# --- backward pass and theory ---------------------------------------------------------------


def test_app_backward_view_draws_one_gradient_histogram_per_layer(at: AppTest) -> None:
    at.query_params.update({"fwd.view": "Backward", "fwd.layers": "7", "fwd.samples": "500"})
    at.run()
    assert_clean(at)
    spec = spec_of(histogram_chart(at))  # the open tab's chart is the only histogram
    assert "∂L/∂z" in spec["spec"]["encoding"]["x"]["title"]
    df = histograms(at)
    assert sorted(df["layer"].unique()) == list(range(1, 8))
    assert np.isfinite(df[["bin_start", "bin_end", "count"]].to_numpy(dtype=float)).all()
    assert (df.groupby("layer")["count"].sum() == 500 * 100).all()  # every gradient counted
    assert df["bin_start"].min() == -df["bin_end"].max()  # shared, symmetric edges
    table = at.dataframe[0].value
    for column in ("Gradient std", "Weight-gradient std"):
        assert np.isfinite(table[column]).all() and (table[column] > 0).all()


def test_app_table_gives_exploding_activations_in_three_digits(at: AppTest) -> None:
    """ReLU with std 10 over 20 layers: the activations grow past 10^30, which the browser's
    number column shows as raw digits or as an error; the table gives them as "%.3g" text,
    and the layers it could compute still as numbers."""
    at.query_params.update(
        {"fwd.activation": "relu", "fwd.init": "custom", "fwd.std": "10", "fwd.layers": "20"}
    )
    at.run()
    assert_clean(at)
    table = at.dataframe[0].value
    assert table["Mean"].str.fullmatch(r"\d{1,3}(\.\d+)?(e\+\d\d)?").all()  # 3 digits
    assert "e+3" in table["Mean"].iloc[-1]
    assert table["Saturated"].between(0, 1).all(), "a column within range stays numbers"


def test_app_std_vs_depth_has_measured_and_predicted_series_per_layer(at: AppTest) -> None:
    at.query_params.update(
        {
            "fwd.view": "Std vs depth",
            "fwd.activation": "relu",
            "fwd.init": "he_normal",
            "fwd.layers": "8",
        }
    )
    at.run()
    assert_clean(at)
    (chart,) = at.get("vega_lite_chart")
    spec = spec_of(chart)
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    df = data_of(chart)
    layers = df.groupby("series")["layer"].apply(sorted).to_dict()
    assert layers == {label: list(range(1, 9)) for label, _ in frames.DEPTH_SERIES}
    assert np.isfinite(df["std"]).all() and (df["std"] > 0).all()
    # He keeps ReLU steady, and the theory agrees with the measurement within a factor 2.
    wide = df.pivot_table(index=["layer", "quantity"], columns="source", values="std")
    assert ((wide["measured"] / wide["predicted"]).between(0.5, 2)).all()
    assert "cannot show" not in texts(at.caption)


EXPLODING = {"fwd.activation": "relu", "fwd.init": "std_1", "fwd.layers": "30", "fwd.width": "300"}


@pytest.mark.parametrize("view", fast_first(["Forward", "Backward", "Std vs depth"]))
def test_app_exploding_setting_draws_every_view(at: AppTest, view: str) -> None:
    at.query_params.update({**EXPLODING, "fwd.view": view})
    at.run()
    assert_clean(at)
    (chart,) = at.get("vega_lite_chart")[:1]
    df = data_of(chart)
    assert not df.empty
    assert np.isfinite(df.select_dtypes("number").to_numpy(dtype=float)).all()
    assert "exploding" in texts(at.info) or "dead units" in texts(at.info)


def test_app_zeros_init_says_what_the_log_axis_leaves_out(at: AppTest) -> None:
    at.query_params.update(
        {"fwd.view": "Std vs depth", "fwd.activation": "tanh", "fwd.init": "zeros"}
    )
    at.run()
    assert_clean(at)
    assert "cannot show zero" in texts(at.caption)
    df = data_of(at.get("vega_lite_chart")[0])
    assert set(df["series"]) == {"gradient std (measured)", "gradient std (predicted)"}


# --- σ × depth map ----------------------------------------------------------------------------

SWEEP_VIEW = "σ × depth"


def sweep_data(at: AppTest) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The heat map's cells and its marked scales (the open tab's only chart)."""
    (chart,) = at.get("vega_lite_chart")
    marks = [layer["mark"]["type"] for layer in spec_of(chart)["layer"]]
    assert marks == ["rect", "rule", "text", "text"]
    (cells,) = [d for d in datasets_of(chart) if "log_std" in d]
    (marked,) = [d for d in datasets_of(chart) if "label" in d]
    return cells, marked


def test_app_sweep_view_draws_one_cell_per_sigma_and_depth(at: AppTest) -> None:
    at.query_params.update({"fwd.view": SWEEP_VIEW, "fwd.activation": "relu"})
    at.run()
    assert_clean(at)
    cells, marked = sweep_data(at)
    n_sigma = cells["sigma"].nunique()
    assert n_sigma >= 41
    assert len(cells) == n_sigma * 50  # one row per (σ, depth): ~2,000, not raw activations
    assert sorted(cells["depth"].unique()) == list(range(1, 51))
    assert not cells.duplicated(["sigma", "depth"]).any()
    assert (cells["sigma_low"] < cells["sigma"]).all() and (
        cells["sigma"] < cells["sigma_high"]
    ).all()
    assert list(core.MARKED_SCALES) == list(SCALE_LABELS)
    assert list(marked["label"]) == list(SCALE_LABELS.values())  # worded by the page
    np.testing.assert_allclose(marked["sigma"], list(core.MARKED_SCALES.values()))
    assert set(marked["sigma"]) <= set(cells["sigma"])  # each rule sits on a row of the map
    # He keeps ReLU's std flat: within a factor 10 of 1 even 50 layers deep.
    he = cells[np.isclose(cells["sigma"], math.sqrt(2))]
    assert he["log_std"].abs().max() < 1
    assert at.slider(key=FWD["sweep_depth"].key).value == 50
    assert "colours stop" in texts(at.caption)


def test_app_sweep_redraws_when_the_activation_changes(at: AppTest) -> None:
    # 20 units a layer: the map is redrawn at any width, and three maps 100 wide take seconds.
    at.query_params.update({"fwd.view": SWEEP_VIEW, "fwd.activation": "relu", "fwd.width": "20"})
    at.run()
    before, _ = sweep_data(at)
    at.sidebar.selectbox(key=FWD["activation"].key).set_value("tanh").run()
    assert_clean(at)
    after, _ = sweep_data(at)
    assert len(after) == len(before)
    assert not after["log_std"].equals(before["log_std"])
    at.slider(key=FWD["sweep_depth"].key).set_value(20).run()
    assert_clean(at)
    assert sweep_data(at)[0]["depth"].max() == 20


def test_app_sweep_overflow_is_clipped_to_finite_chart_data(at: AppTest) -> None:
    # A linear net with σ = 4 multiplies the std by 4 per layer, whatever its width: float32
    # overflows near 64.
    at.query_params.update(
        {
            "fwd.view": SWEEP_VIEW,
            "fwd.activation": "linear",
            "fwd.sweep_depth": "100",
            "fwd.width": "20",
        }
    )
    at.run()
    assert_clean(at)
    cells, _ = sweep_data(at)
    assert "overflow" in set(cells["std_text"])
    numbers = cells.select_dtypes("number").to_numpy(dtype=float)
    assert np.isfinite(numbers).all()
    assert cells["log_std"].between(-frames.LOG_STD_CLIP, frames.LOG_STD_CLIP).all()
    assert cells["log_std"].max() == frames.LOG_STD_CLIP
    assert "colours stop" in texts(at.caption)


# The demo's budgets, and a tenth of them: the same cuts, announced the same way, at a tenth of
# the work (the budgets are the host's to set; the pure tests below use the demo's).
BUDGET_SHARES = fast_first([10, 1], ids=lambda share: f"budget over {share}")


@pytest.mark.parametrize("share", BUDGET_SHARES)
def test_app_sweep_cap_is_announced(
    at: AppTest, monkeypatch: pytest.MonkeyPatch, share: int
) -> None:
    monkeypatch.setattr(limits, "SWEEP_BUDGET", limits.SWEEP_BUDGET // share)
    # Wider than the map's cap, and narrow enough for the forward experiment to stay quick.
    at.query_params.update({"fwd.view": SWEEP_VIEW, "fwd.width": "300", "fwd.sweep_depth": "100"})
    at.run()
    assert_clean(at)
    assert "Capped" in texts(at.warning)
    cells, _ = sweep_data(at)
    depth = cells["depth"].max()
    assert limits.MAX_SWEEP_WIDTH**2 * depth <= limits.SWEEP_BUDGET
    assert f"{limits.MAX_SWEEP_WIDTH} units per layer" in texts(at.caption)


# --- caps and errors -------------------------------------------------------------------------


@pytest.mark.parametrize("share", BUDGET_SHARES)
def test_app_forward_cap_is_announced(
    at: AppTest, monkeypatch: pytest.MonkeyPatch, share: int
) -> None:
    monkeypatch.setattr(limits, "WEIGHT_BUDGET", limits.WEIGHT_BUDGET // share)
    monkeypatch.setattr(limits, "ACTIVATION_BUDGET", limits.ACTIVATION_BUDGET // share)
    at.query_params.update({"fwd.layers": "30", "fwd.width": "1000", "fwd.samples": "5000"})
    at.run()
    assert_clean(at)
    assert "Capped" in texts(at.warning)
    df = histograms(at)
    layers = df["layer"].nunique()
    samples = df.groupby("layer")["count"].sum().iloc[0] / 1000
    assert layers * 1000 * 1000 <= limits.WEIGHT_BUDGET
    assert layers * 1000 * samples <= limits.ACTIVATION_BUDGET


def test_app_training_cap_disables_train(at: AppTest) -> None:
    at.query_params.update(
        {"race.iterations": "5000", "race.initializers": list(core.INITIALIZERS)}
    )
    at.run()
    assert_clean(at)
    assert at.button(key="train").disabled
    assert "public demo allows" in texts(at.warning)


def test_app_core_value_error_is_shown_not_raised(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError("width must be an integer >= 1, got 0")

    monkeypatch.setattr(core, "activation_histograms", refuse)
    monkeypatch.setattr(core, "train_compare", refuse)
    at.run()
    assert not at.exception
    assert REFUSED in texts(at.error)
    reasons = [code.value for code in at.code]
    assert "width must be an integer >= 1, got 0" in reasons, "core's reason, as code"
    at.slider(key=RACE["iterations"].key).set_value(20).run()
    at.button(key="train").click().run()
    assert not at.exception
    assert texts(at.error).count(REFUSED) == 2
    assert [code.value for code in at.code].count("width must be an integer >= 1, got 0") == 2


def test_app_broken_mnist_folder_shows_error_and_uses_sample(
    at: AppTest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("INITLAB_MNIST_DIR", str(tmp_path / "no-such-folder"))
    at.run()
    assert not at.exception
    assert "could not be used" in texts(at.error)
    assert any("does not exist" in code.value for code in at.code), "the reason, as code"
    assert "bundled sample" in texts(at.caption)
    train(at, iterations=20, race=["he_normal"])
    assert not at.exception
    assert len(at.dataframe[-1].value) == 1


# --- pure helpers (no Streamlit) -------------------------------------------------------------


def test_cap_forward_leaves_defaults_alone() -> None:
    capped = limits.cap_forward(DEFAULT_FORWARD)
    assert capped.config == DEFAULT_FORWARD and capped.notice == ""


@pytest.mark.parametrize(
    ("layers", "width", "samples", "init"),
    [(30, 1000, 5000, "he_normal"), (30, 100, 5000, "std_1"), (30, 1000, 100, "orthogonal")],
)
def test_cap_forward_fits_both_budgets(layers: int, width: int, samples: int, init: str) -> None:
    cfg = dataclasses.replace(
        DEFAULT_FORWARD, layers=layers, width=width, samples=samples, init=init
    )
    capped = limits.cap_forward(cfg)
    c = capped.config
    assert c.layers * c.width * c.samples <= limits.ACTIVATION_BUDGET
    assert c.layers * limits._weight_cost(c.width, c.init) <= limits.WEIGHT_BUDGET
    assert c.samples >= limits.MIN_SAMPLES and c.layers >= 1
    assert "Capped" in capped.notice


def test_cap_sweep_leaves_the_default_alone_and_fits_the_budget() -> None:
    assert limits.cap_sweep(100, 50) == limits.CappedSweep(100, 50, "")
    assert limits.cap_sweep(100, limits.MAX_SWEEP_DEPTH).notice == ""
    for width in (150, 200, 500, 1000):
        capped = limits.cap_sweep(width, limits.MAX_SWEEP_DEPTH)
        assert capped.width <= limits.MAX_SWEEP_WIDTH and capped.depth >= 1
        assert capped.width**2 * capped.depth <= limits.SWEEP_BUDGET
        assert "Capped" in capped.notice


def test_sweep_view_clips_zero_and_overflow() -> None:
    sweep = core.depth_sweep("relu", scales=[0.5, 1.0, 2.0], max_depth=4, width=10, n_samples=20)
    stds = sweep.stds.copy()
    stds[0, -1], stds[2, -1] = 0.0, math.inf
    view = frames.sweep_view(dataclasses.replace(sweep, stds=stds))
    cells = view.cells
    assert list(cells.columns) == frames.SWEEP_COLUMNS and len(cells) == 3 * 4
    assert np.isfinite(cells.select_dtypes("number").to_numpy(dtype=float)).all()
    last = cells[cells["depth"] == 4].set_index("sigma")
    assert last.loc[0.5, "log_std"] == -frames.LOG_STD_CLIP
    assert last.loc[2.0, "log_std"] == frames.LOG_STD_CLIP
    assert last.loc[2.0, "std_text"] == "overflow"
    assert view.clipped >= 2
    # Cells tile the log axis: each one ends where the next begins.
    rows = cells[cells["depth"] == 1]
    np.testing.assert_allclose(rows["sigma_high"].iloc[:-1], rows["sigma_low"].iloc[1:])
    chart = charts.sweep_heatmap(cells, view.marked, log_std_clip=frames.LOG_STD_CLIP)
    assert [layer["mark"]["type"] for layer in chart.to_dict()["layer"]][:2] == ["rect", "rule"]


def test_training_budget_allows_the_default_and_refuses_the_extreme() -> None:
    assert limits.training_over_budget(DEFAULT_TRAIN) == ""
    every = dataclasses.replace(
        DEFAULT_TRAIN, initializers=tuple(core.INITIALIZERS), iterations=2000
    )
    assert limits.training_over_budget(every) == ""  # racing everything at the default length
    huge = dataclasses.replace(DEFAULT_TRAIN, iterations=5000, batch_size=512, units=500, layers=10)
    assert "allows" in limits.training_over_budget(huge)
    assert "capped" in limits.training_over_budget(
        dataclasses.replace(DEFAULT_TRAIN, iterations=10_000)
    )


def test_loss_frame_thins_long_runs_and_keeps_the_last_step() -> None:
    losses = {"a": np.linspace(3, 1, 5000)[None], "b": np.full((1, 7), np.nan)}  # (seeds, steps)
    df = frames.loss_frame(losses, {"a": "A", "b": "B"})
    a = df[df["initializer"] == "A"]
    assert len(a) <= frames.MAX_POINTS + 1
    assert a["step"].iloc[0] == 1 and a["step"].iloc[-1] == 5000
    assert len(df[df["initializer"] == "B"]) == 7  # short curves are kept whole


def test_histogram_frame_has_counts_not_values() -> None:
    result = core.activation_histograms("relu", "he_normal", n_layers=3, bins=20)
    df = frames.histogram_frame(result)
    assert list(df.columns) == ["layer", "bin_start", "bin_end", "count"]
    assert len(df) == 3 * 20
    assert (df.groupby("layer")["count"].sum() == 1000 * 100).all()


def test_loss_chart_builds_from_an_empty_frame() -> None:
    chart = charts.loss_chart(frames.loss_frame({}, {}))
    assert chart.to_dict()["layer"]


def test_forward_view_survives_an_overflow_at_the_first_layer() -> None:
    result = core.activation_histograms("linear", core.normal_std(1e38), n_layers=3)
    assert result.overflow_layer == 1
    view = frames.forward_view(result)
    assert view.histograms.empty and view.stats.empty
    assert list(view.stats.columns) == list(frames.STATS_COLUMNS)
    assert view.diagnosis.code == "overflow"
    assert "overflow" in text.verdict(view.diagnosis)


def test_verdict_marks_a_growth_from_a_first_layer_of_one_value() -> None:
    """Layer 1 of one value, layer 2 spread again by batch norm: the verdict says "inf", the
    float's mark, and compares with layer 1, as its words say."""
    result = core.activation_histograms(
        "sigmoid", core.normal_std(1e20), n_layers=2, width=2, n_samples=3, batch_norm=True
    )
    verdict = text.verdict(frames.forward_view(result).diagnosis)
    assert "inf" in verdict and "layer 1" in verdict


def test_depth_frame_drops_what_a_log_axis_cannot_show() -> None:
    result = core.activation_histograms("relu", "he_normal", n_layers=3, width=20, n_samples=50)
    top = result.layers[-1]
    broken = dataclasses.replace(top, grad_std=math.nan, predicted_grad_std=math.inf, std=0.0)
    result = dataclasses.replace(result, layers=(*result.layers[:-1], broken))
    depth = frames.depth_frame(result)
    assert np.isfinite(depth.data["std"]).all() and (depth.data["std"] > 0).all()
    assert len(depth.data) == 4 * 3 - 3
    assert depth.left_out == (
        ("activation std (measured)", 1),
        ("gradient std (measured)", 1),
        ("gradient std (predicted)", 1),
    )
    grads = frames.gradient_histogram_frame(result)
    assert sorted(grads["layer"].unique()) == [1, 2]  # no panel for a layer without gradient
    chart = charts.std_depth_chart(depth.data, series=tuple(s for s, _ in frames.DEPTH_SERIES))
    assert chart.to_dict()["layer"]


# Zeros left out in the full suite only: the fast loop draws them left out on the page
# (test_app_hide_zeros_drops_relus_spike), with the same frames and charts.
@pytest.mark.parametrize(
    "exclude_zeros", fast_first([False, True], ids=lambda e: "zeros hidden" if e else "all")
)
@pytest.mark.parametrize("activation", fast_first(core.ACTIVATIONS))
def test_views_build_for_every_initializer(activation: str, exclude_zeros: bool) -> None:
    """Every registry pairing, with and without zeros, yields frames and charts that serialize."""
    series = tuple(label for label, _ in frames.DEPTH_SERIES)
    for init in core.INITIALIZERS:
        result = core.activation_histograms(
            activation, init, n_layers=3, width=20, n_samples=50, exclude_zeros=exclude_zeros
        )
        view = frames.forward_view(result)
        chart = charts.histogram_chart(view.histograms, x_title="a", x_domain=view.x_domain)
        assert chart.to_dict()["facet"]["field"] == "layer"
        grads = charts.histogram_chart(
            view.grad_histograms, x_title="g", x_domain=view.grad_x_domain
        )
        assert grads.to_dict()["facet"]["field"] == "layer"
        depth = charts.std_depth_chart(view.depth.data, series=series)
        assert depth.to_dict()["layer"]
        assert text.verdict(view.diagnosis)


@pytest.mark.parametrize("activation", fast_first(core.ACTIVATIONS, fast=2))
def test_race_frames_build_for_every_initializer(activation: str) -> None:
    race = core.train_compare(
        list(core.INITIALIZERS),
        activation=activation,
        hidden=(16,),
        iterations=5,
        lr=1.0,
        data=core.load_sample(),
    )
    labels = {name: initializer_label(name) for name in race.losses}
    table = frames.results_frame(race, labels)
    assert len(table) == len(core.INITIALIZERS)
    chart = charts.loss_chart(frames.loss_frame(race.losses, labels), iterations=5)
    assert chart.to_dict()["layer"]
    units = frames.units_frame(race, labels)
    assert units["units"].between(1, 16).all()
    start = units[units["step"] == 0].set_index("initializer")["units"]
    assert start[initializer_label("zeros")] == 1
    assert charts.units_chart(units).to_dict()["mark"]["type"] == "line"


def test_framework_pitfalls_name_the_five_traps() -> None:
    pitfalls = " ".join(text.pitfalls())
    assert "(out, in)" in pitfalls and "dim 1" in pitfalls
    assert (
        "truncated" in pitfalls
        and f"{core.network.initializers.TRUNCATED_NORMAL_STD:.8f}" in pitfalls
    )
    assert "U(±1/√fan_in)" in pitfalls
    assert "LeCun" in pitfalls and 'book\'s "Xavier"' in pitfalls
    assert 'nonlinearity="leaky_relu"' in pitfalls
    assert all(p.endswith(".") for p in text.pitfalls())
