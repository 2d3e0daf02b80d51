"""The activations view with batch norm, and the downloads and settings link, under AppTest."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest_helpers import assert_clean, download_names, share_link, texts
from tests.params import fast_first
from ui import text
from ui.settings import FWD
from ui.settings import RACE_BY_NAME as RACE

pytestmark = pytest.mark.usefixtures("offline_fresh_caches")


def stds(at: AppTest) -> list[float]:
    return list(at.dataframe[0].value["Std"])


def test_app_batch_norm_spreads_std_001_sigmoid_like_any_other_init(at: AppTest) -> None:
    """Without batch norm, sigmoid with std 0.01 collapses to 0.5 (std ~0.01); with it,
    every layer shows the spread of sigmoid(N(0, 1)), about 0.21."""
    at.query_params.update({"fwd.activation": "sigmoid", "fwd.init": "std_0.01"})
    at.run()
    assert max(stds(at)) < 0.03
    assert text.BATCH_NORM_NOTE not in texts(at.caption)
    at.sidebar.toggle(key=FWD["batch_norm"].key).set_value(True).run()
    assert_clean(at)
    assert all(s == pytest.approx(0.21, abs=0.01) for s in stds(at))
    assert text.BATCH_NORM_NOTE in texts(at.caption)


def test_app_sweep_says_it_is_drawn_without_batch_norm(at: AppTest) -> None:
    # 20 units a layer: the note is the same at any width, and the map is drawn far sooner.
    at.query_params.update({"fwd.view": "σ × depth", "fwd.batch_norm": "true", "fwd.width": "20"})
    at.run()
    assert_clean(at)
    assert text.SWEEP_BATCH_NORM_NOTE in texts(at.caption)


def test_app_batch_norm_hides_the_preset_note_and_a_preset_turns_it_off(at: AppTest) -> None:
    at.query_params.update(
        {"fwd.activation": "relu", "fwd.init": "he_normal", "fwd.batch_norm": "true"}
    )
    at.run()
    assert "Notice:" not in texts(at.info), "the book's figures are without batch norm"
    at.button(key="preset_relu_he_normal").click().run()
    assert_clean(at)
    assert at.sidebar.toggle(key=FWD["batch_norm"].key).value is False
    assert "Notice:" in texts(at.info)


@pytest.mark.parametrize(
    ("view", "chart"),
    fast_first(
        [
            ("Forward", "activations"),
            ("Backward", "gradients"),
            ("Std vs depth", "std-vs-depth"),
            ("σ × depth", "sigma-depth-map"),
        ],
        fast=2,
    ),
)
def test_app_every_activations_view_offers_png_and_svg(at: AppTest, view: str, chart: str) -> None:
    at.query_params["fwd.view"] = view
    at.run()
    assert_clean(at)
    names = download_names(at)
    assert {f"initlab-{chart}.png", f"initlab-{chart}.svg", "initlab-layer-stats.csv"} <= names


def test_app_race_offers_its_charts_and_tables(raced: AppTest) -> None:
    assert_clean(raced)
    names = download_names(raced)
    for file in (
        "loss.png",
        "loss.svg",
        "loss-curves.csv",
        "race-results.csv",
        "distinct-units.png",
        "distinct-units.svg",
    ):
        assert f"initlab-{file}" in names


def test_app_downloads_are_made_only_when_clicked(first_load: AppTest) -> None:
    """A rerun must not render a file: the page redraws on every control change."""
    buttons = first_load.get("download_button")
    assert buttons
    assert all(b.proto.deferred_file_id and not b.proto.url for b in buttons)
    assert all(b.proto.ignore_rerun for b in buttons)


def test_app_link_holds_the_settings_and_follows_the_controls(at: AppTest) -> None:
    at.query_params.update({"fwd.activation": "tanh", "fwd.layers": "9", "race.iterations": "300"})
    at.run()
    assert_clean(at)
    assert share_link(at) == "?fwd.activation=tanh&fwd.layers=9&race.iterations=300"
    at.sidebar.slider(key=FWD["layers"].key).set_value(FWD["layers"].default).run()
    at.slider(key=RACE["seeds"].key).set_value(2).run()
    assert share_link(at) == "?fwd.activation=tanh&race.iterations=300&race.seeds=2"
    assert dict(at.query_params) == {
        "fwd.activation": "tanh",
        "race.iterations": "300",
        "race.seeds": "2",
    }, "the address bar holds what the link holds"
