"""The URL as a hostile visitor writes it: every value is checked before a widget sees it.

Old links (the keys before the `fwd.`/`race.` scheme) keep working; values out of range move
to the nearest allowed one and the page says so once; unreadable ones fall back to the
default and say so; keys the page does not know never reach the address bar or the link.
"""

from __future__ import annotations

import tomllib
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import core
from tests.apptest_helpers import APP, AT_KIND, assert_clean, other_value, share_link, texts
from tests.params import fast_first
from ui.controls import DRAWN_BY_VIEWS
from ui.errors import SECTION_FAILED
from ui.settings import BY_KEY, FWD, OLD_KEYS, SETTINGS, VIEWS, Setting, parse, to_url
from ui.settings import RACE_BY_NAME as RACE
from ui.url_state import same_value

pytestmark = pytest.mark.usefixtures("offline_fresh_caches")

NOTICE = "could not be used as they were"


def widget_value(at: AppTest, key: str) -> object:
    setting = BY_KEY[key]
    if setting.kind == "tabs":
        return at.session_state[key]
    where = at.sidebar if key.startswith("fwd.") and setting.name not in DRAWN_BY_VIEWS else at
    return getattr(where, AT_KIND[setting.kind])(key=key).value


@pytest.mark.parametrize(("old", "new"), fast_first(sorted(OLD_KEYS.items()), fast=4))
def test_app_old_link_keys_open_the_same_view(at: AppTest, old: str, new: str) -> None:
    setting = BY_KEY[new]
    value = other_value(setting)
    if setting.applies_when is not None:  # the custom std, the sweep's depth
        name, needed = setting.applies_when
        at.query_params[f"{setting.section}.{name}"] = to_url(BY_KEY[f"fwd.{name}"], needed)
        if name == "view":
            at.query_params["fwd.view"] = "σ × depth"  # old links spelled the tab's label
    at.query_params[old] = to_url(setting, value)
    at.run()
    assert_clean(at)
    assert NOTICE not in texts(at.warning)
    assert same_value(setting, widget_value(at, new), value)
    assert old not in at.query_params or old == new, "the link is rewritten with the new key"
    written = at.query_params[new]
    assert (written if isinstance(written, list) else [written]) == to_url(setting, value)


def test_old_keys_cover_every_key_an_earlier_link_used() -> None:
    earlier = {"activation", "init", "std", "layers", "width", "samples", "seed", "nozero", "bn"}
    earlier |= {"view", "maxdepth", "race", "tact", "depth", "units", "iters", "batch", "lr"}
    earlier |= {"opt", "tseed", "seeds", "tbn"}
    assert set(OLD_KEYS) == earlier
    assert all(key.startswith(("fwd.", "race.")) or key == "lang" for key in BY_KEY)


@pytest.mark.parametrize(
    "raw", fast_first(["inf", "x" * 10_000, "-Infinity", "1e309", "nan", "", "7e"], fast=2)
)
@pytest.mark.parametrize("key", ["fwd.seed", "race.seed"])
def test_app_unreadable_or_infinite_seed_keeps_the_page(at: AppTest, key: str, raw: str) -> None:
    at.query_params[key] = raw
    at.run()
    assert_clean(at)
    assert at.get("vega_lite_chart"), "the histograms are drawn"
    assert at.button(key="train"), "the race keeps its controls"
    seed = widget_value(at, key)
    assert isinstance(seed, int) and 0 <= seed <= BY_KEY[key].high
    if raw:
        assert NOTICE in texts(at.warning)


def test_app_out_of_range_values_go_to_the_nearest_allowed_and_say_so(at: AppTest) -> None:
    at.query_params.update(
        {
            "fwd.layers": "999",
            "fwd.width": "105",
            "fwd.samples": "-5",
            "race.lr": "0.02",
            "race.units": "100000",
            "race.iterations": "1e9",
        }
    )
    at.run()
    assert_clean(at)
    assert widget_value(at, "fwd.layers") == 30, "the demo's cap, not the default"
    assert widget_value(at, "fwd.width") in (100, 110)
    assert widget_value(at, "fwd.samples") == FWD["samples"].low
    assert widget_value(at, "race.lr") == 0.03
    assert widget_value(at, "race.units") == 500
    assert widget_value(at, "race.iterations") == RACE["iterations"].high
    (warning,) = [w for w in at.warning if NOTICE in w.value]
    assert "this demo's cap, so it shows 30" in warning.value
    assert warning.value.count("\n- ") == 6, "one line per setting"
    at.sidebar.slider(key="fwd.layers").set_value(10).run()
    assert NOTICE not in texts(at.warning), "said once"
    assert at.query_params["fwd.layers"] == "10"


def test_app_unknown_keys_never_reach_the_link(at: AppTest) -> None:
    at.query_params.update({"junk": "x" * 100_000, "fwd.activation": "relu", "evil": "<b>"})
    at.run()
    assert_clean(at)
    assert share_link(at) == "?fwd.activation=relu"
    assert set(at.query_params) == {"fwd.activation"}


def test_app_hostile_values_are_shown_as_text_not_markup(at: AppTest) -> None:
    at.query_params.update(
        {
            "fwd.activation": "<script>alert(1)</script>",
            "fwd.init": "**bold** [link](http://x)",
            "race.initializers": ["he_normal", "`x`" * 50, "zeros"],
        }
    )
    at.run()
    assert_clean(at)
    warning = next(w.value for w in at.warning if NOTICE in w.value)
    assert "`<script>alert(1)</script…`" in warning, "a code span, cut short"
    assert "so it shows Sigmoid" in warning
    assert widget_value(at, "race.initializers") == ["he_normal", "zeros"]


@pytest.mark.parametrize("setting", SETTINGS, ids=[s.key for s in SETTINGS])
def test_every_setting_reads_back_what_it_writes(setting) -> None:  # type: ignore[no-untyped-def]
    for value in (setting.default, other_value(setting)):
        parsed = parse(setting, to_url(setting, value))
        assert parsed.problem == ""
        assert same_value(setting, parsed.value, value)


def test_view_tabs_are_spelled_as_codes_and_old_labels_still_open() -> None:
    view = FWD["view"]
    assert to_url(view, VIEWS[3]) == ["sweep"]
    for label, code in zip(VIEWS, view.url_codes, strict=True):
        assert parse(view, [label]).value == parse(view, [code]).value == label


def test_public_page_never_shows_error_details() -> None:
    config = tomllib.loads((APP.parent / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"


def test_app_failing_section_shows_the_apps_words_not_a_traceback(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("/srv/secret/path.py exploded")

    monkeypatch.setattr(core, "activation_histograms", broken)
    at.run()
    assert not at.exception
    assert SECTION_FAILED.format(section="activations") in texts(at.error)
    assert "/srv/secret" not in texts(at.error) + texts(at.markdown) + texts(at.caption)
    assert at.button(key="train"), "the race below still works"


def _fallback(setting: Setting, proto: Any) -> object:
    """The value a browser gives a widget it builds without a value from the server: the
    widget's default, as the page last sent it."""
    default = proto.default
    if setting.kind == "multiselect":
        return [setting.options[i] for i in default]
    if setting.kind == "select":
        return setting.options[default]
    if setting.kind == "select_slider":
        return setting.options[int(default[0])]
    if setting.kind == "slider":
        return default[0]
    return default  # number, toggle


@pytest.mark.parametrize(
    "setting",
    fast_first([s for s in SETTINGS if s.kind != "tabs"], fast=3),
    ids=lambda s: s.key,
)
def test_app_a_widget_built_again_falls_back_on_its_own_value(
    at: AppTest, setting: Setting
) -> None:
    """A slow browser may build a widget from a run that did not set its value (the page's
    first run and the rerun that its measured width starts), and then keeps the widget's
    default and sends it back with the next click. That default is the setting's value, never
    Streamlit's own (the first option, the minimum, no initializer at all)."""
    value = other_value(setting)
    if setting.applies_when is not None:
        name, needed = setting.applies_when
        at.query_params[f"{setting.section}.{name}"] = to_url(
            BY_KEY[f"{setting.section}.{name}"], needed
        )
    at.query_params[setting.key] = to_url(setting, value)
    at.run()
    assert_clean(at)
    widget = getattr(at, AT_KIND[setting.kind])(key=setting.key)  # main area or sidebar
    assert same_value(setting, _fallback(setting, widget.proto), value)


def test_app_no_initializer_chosen_stays_so_through_the_url(at: AppTest) -> None:
    """Clearing every initializer is written to the URL as an empty value, so that the next
    run (another control moved, or the link opened) keeps it empty rather than bringing the
    default race back, and says nothing about the URL."""
    at.run()
    at.multiselect(key=RACE["initializers"].key).set_value([]).run()
    at.slider(key=RACE["iterations"].key).set_value(300).run()
    assert at.session_state[RACE["initializers"].key] == []
    assert at.query_params[RACE["initializers"].key] in ("", [""])
    assert NOTICE not in texts(at.warning)
    reopened = AppTest.from_file(str(APP), default_timeout=60)
    reopened.query_params[RACE["initializers"].key] = ""
    reopened.run()
    assert reopened.session_state[RACE["initializers"].key] == []
    assert NOTICE not in texts(reopened.warning)
