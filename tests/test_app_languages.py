"""The page in 简体中文 and 日本語: every view, preset and the race, with no English sentence left.

"English sentence" is taken literally: four or more English words in a row. Names, formulas,
numbers and code may stay as they are (PyTorch's and Keras' calls are code blocks, not read
here; paper and book titles are names), and are listed in `NAMES`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

import core
from tests.apptest_helpers import assert_clean, open_expanders, spec_of, train
from tests.params import fast_first
from ui import i18n
from ui.errors import REFUSED
from ui.presets import PRESETS, RACE_PRESETS, Preset, RacePreset
from ui.settings import FWD, VIEW_CODES

pytestmark = pytest.mark.usefixtures("offline_fresh_caches")

LANGUAGES = ("zh", "ja")
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[ \-][A-Za-z][A-Za-z'’]*){3,}")
# Names that keep their English: titles of papers and books, and the app's own name.
NAMES = (
    "Deep Learning from Scratch",
    "Understanding the difficulty of training deep feedforward neural networks",
    "Delving Deep into Rectifiers",
    "Surpassing Human-Level Performance on ImageNet Classification",
    "Neural Networks: Tricks of the Trade",
    "Batch Normalization: Accelerating Deep Network Training by Reducing Internal Covariate Shift",
    "Accelerating Deep Network Training by Reducing Internal Covariate Shift",
    "Creative Commons Attribution-Share Alike",
    "Xavier Glorot and Yoshua Bengio",
    "Kaiming He, Xiangyu Zhang, Shaoqing Ren and Jian Sun",
    "Yann LeCun, Léon Bottou, Genevieve B. Orr and Klaus-Robert Müller",
    "Sergey Ioffe and Christian Szegedy",
    "Yann LeCun, Corinna Cortes and Christopher J.C. Burges",
    "Efficient BackProp",
    "Sebastian Raschka",
)


@pytest.fixture(autouse=True)
def english_afterwards() -> Iterator[None]:
    """A test sets its thread's language (AppTest formats options there); the next test
    starts in English again."""
    yield
    i18n.use_language("en")


def _texts(at: AppTest) -> list[str]:
    """What a reader sees: headings, prose, notes, labels, table headings and chart titles."""
    parts: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning"):
        parts += [str(e.value) for e in at.get(kind)]
    parts += [str(e.proto.label) for e in at.get("button")]
    for kind in ("selectbox", "slider", "select_slider", "number_input", "toggle", "multiselect"):
        parts += [str(e.label) for e in at.get(kind)] + [str(e.help or "") for e in at.get(kind)]
    parts += [str(e.label) for e in at.expander]
    parts += [" ".join(map(str, t.value.columns)) for t in at.dataframe]
    for chart in at.get("vega_lite_chart"):
        parts += [str(v) for v in _titles(spec_of(chart))]
    return parts


def _titles(spec: Any) -> Iterator[object]:
    """Every `title` and header `labelExpr` in a Vega-Lite spec."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in ("title", "labelExpr") and isinstance(value, str | list):
                yield json.dumps(value, ensure_ascii=False) if isinstance(value, list) else value
            else:
                yield from _titles(value)
    elif isinstance(spec, list):
        for item in spec:
            yield from _titles(item)


def english_left(at: AppTest) -> list[str]:
    found = []
    for text in _texts(at):
        text = re.sub(r"`[^`]*`|\[[^\]]*\]\([^)]*\)|https?://\S+", " ", text)  # code, links
        for name in NAMES:
            text = text.replace(name, " ")
        found += ENGLISH_RUN.findall(text)
    return found


def open_page(at: AppTest, lang: str, **query: str) -> AppTest:
    i18n.use_language(lang)
    at.query_params.update({"lang": lang, **query})
    open_expanders(at).run()  # what they hold is read too
    assert_clean(at)
    return at


@pytest.mark.parametrize("lang", fast_first(LANGUAGES))
@pytest.mark.parametrize("view", VIEW_CODES)
def test_app_every_view_speaks_the_language(at: AppTest, lang: str, view: str) -> None:
    # 20 units a layer: the page says the same things at any width, and draws the σ × depth
    # map far sooner.
    open_page(at, lang, **{FWD["view"].key: view, FWD["width"].key: "20"})
    assert english_left(at) == []


# A preset of each kind first: the fast loop reads one forward and one race preset's note.
EVERY_PRESET = (PRESETS[0], RACE_PRESETS[0], *PRESETS[1:], *RACE_PRESETS[1:])


@pytest.mark.parametrize("lang", fast_first(LANGUAGES))
@pytest.mark.parametrize("preset", fast_first(EVERY_PRESET, fast=2, ids=lambda p: p.key))
def test_app_every_preset_speaks_the_language(
    at: AppTest, lang: str, preset: Preset | RacePreset
) -> None:
    open_page(at, lang)
    at.button(key=preset.key).click().run()
    assert_clean(at)
    assert english_left(at) == []


@pytest.mark.parametrize("lang", fast_first(LANGUAGES))
def test_app_race_speaks_the_language(at: AppTest, lang: str) -> None:
    open_page(at, lang, **{"race.seeds": "2"})
    train(at, iterations=20)
    assert_clean(at)
    assert english_left(at) == []


def test_app_language_change_keeps_every_other_setting(at: AppTest) -> None:
    query = {
        "fwd.activation": "relu",
        "fwd.layers": "7",
        "race.iterations": "300",
        "fwd.view": "depth",
    }
    open_page(at, "en", **query)
    before = {k: v for k, v in at.query_params.items() if k != "lang"}
    at.sidebar.selectbox(key="lang").set_value("ja").run()  # chosen on the English page
    i18n.use_language("ja")
    assert_clean(at)
    after = dict(at.query_params)
    assert after.pop("lang") == "ja"
    assert after == before == {**query}
    assert at.session_state[FWD["view"].key] == "Std vs depth", "the same tab stays open"


def test_app_browser_locale_chooses_the_default_language(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    import streamlit as st

    monkeypatch.setattr(type(st.context), "locale", property(lambda self: "zh-CN"), raising=False)
    at.run()
    assert_clean(at)
    assert at.query_params.get("lang") == "zh", "a shared link keeps the language"


def test_the_check_finds_the_english_page_full_of_english(at: AppTest) -> None:
    """The check above is not vacuous: on the English page it finds sentence after sentence."""
    open_page(at, "en")
    assert len(english_left(at)) > 20


def test_app_core_refusal_is_worded_in_the_language(
    at: AppTest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Core's reason stays as core words it (arguments and numbers), shown as code under the
    page's own sentence in the reader's language."""
    reason = "width must be an integer >= 1, got 0"

    def refuse(*args: object, **kwargs: object) -> None:
        raise ValueError(reason)

    monkeypatch.setattr(core, "activation_histograms", refuse)
    i18n.use_language("ja")
    at.query_params["lang"] = "ja"
    at.run()
    assert not at.exception
    assert i18n._(REFUSED) != REFUSED
    assert i18n._(REFUSED) in [e.value for e in at.error]
    assert reason in [c.value for c in at.code]
    assert english_left(at) == []
