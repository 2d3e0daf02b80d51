"""The export layer: chart files (PNG, SVG), table CSV, the settings link, and their buttons.

The converters run offline on tiny charts; the page tests run under AppTest and check that
a rerun never renders a file (the buttons hold callables that run only on click).
"""

from __future__ import annotations

import io
import struct
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any

import altair as alt
import pandas as pd
import pytest
import vl_convert
from streamlit.testing.v1 import AppTest

from ui import export

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"
SVG_TAG = f"{SVG_NS}svg"
TIMEOUT = 60  # seconds; AppTest's default of 3 is tight for a cold import of Altair


def _bars(n: int = 30) -> alt.Chart:
    df = pd.DataFrame({"bin_start": range(n), "bin_end": range(1, n + 1), "count": range(n)})
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(x=alt.X("bin_start:Q", bin="binned"), x2="bin_end:Q", y="count:Q")
        .properties(width=120, height=80)
    )


def _facets() -> alt.FacetChart:
    """5 layers × 30 bars, as the activation histograms are drawn."""
    df = pd.concat(
        [pd.DataFrame({"layer": layer, "x": range(30), "count": range(30)}) for layer in range(5)]
    )
    base = alt.Chart(df).mark_bar().encode(x="x:Q", y="count:Q").properties(width=120, height=80)
    return base.facet(facet="layer:O", columns=5)


def _png_size(png: bytes) -> tuple[int, int]:
    return struct.unpack(">II", png[16:24])  # the IHDR chunk: width, height


def _svg_size(svg: str) -> tuple[float, float]:
    root = ET.fromstring(svg)
    return float(root.get("width")), float(root.get("height"))


def test_file_name_sorts_under_the_app_name() -> None:
    assert export.file_name("loss", "png") == "initlab-loss.png"


@pytest.mark.parametrize("make_chart", [_bars, _facets])
def test_chart_png_is_png_at_twice_the_svg_size(make_chart: Callable[[], Any]) -> None:
    chart = make_chart()
    png = export.chart_png(chart)
    width, height = _svg_size(export.chart_svg(chart))
    assert png.startswith(PNG_SIGNATURE)
    assert _png_size(png) == (round(2 * width), round(2 * height))


def test_chart_svg_parses_with_an_svg_root() -> None:
    root = ET.fromstring(export.chart_svg(_facets()))
    assert root.tag == SVG_TAG
    assert root.find(f".//{SVG_NS}path") is not None  # the bars


def test_chart_spec_sets_a_width_only_for_unsized_charts() -> None:
    line = alt.Chart(pd.DataFrame({"step": [1, 2], "loss": [2.3, 1.0]}))
    spec = export.chart_spec(line.mark_line().encode(x="step:Q", y="loss:Q"))
    assert spec["config"]["view"]["continuousWidth"] == export.EXPORT_WIDTH
    assert export.chart_spec(_bars())["width"] == 120


def test_chart_spec_inlines_more_rows_than_altairs_limit() -> None:
    df = pd.DataFrame({"step": range(6000), "loss": 1.0})
    spec = export.chart_spec(alt.Chart(df).mark_line().encode(x="step", y="loss"))
    (values,) = spec["datasets"].values()
    assert len(values) == 6000


def test_chart_spec_leaves_altairs_global_settings_alone() -> None:
    before = (alt.data_transformers.active, dict(alt.data_transformers.options))
    export.chart_spec(_bars())
    assert (alt.data_transformers.active, dict(alt.data_transformers.options)) == before


def test_chart_svg_refuses_external_data() -> None:
    chart = alt.Chart("https://example.invalid/data.csv").mark_point().encode(x="a:Q")
    with pytest.raises(ValueError, match="not allowed"):
        export.chart_svg(chart)


def test_table_csv_round_trips_through_pandas() -> None:
    df = pd.DataFrame(
        {
            "initializer": ["He normal", 'LeCun "Xavier", normal', "std 0.01"],
            "loss": [0.123456789, 2.302585, float("nan")],
            "steps": [2000, 2000, 17],
        }
    )
    pd.testing.assert_frame_equal(pd.read_csv(io.StringIO(export.table_csv(df))), df)


@pytest.mark.parametrize(
    ("base", "params", "link"),
    [
        (
            "http://host/app",
            {"layers": ["5"], "init": ["he", "glorot"]},
            "http://host/app?layers=5&init=he&init=glorot",
        ),
        (None, {"act": ["leaky relu"]}, "?act=leaky+relu"),
        ("http://host/app", {}, "http://host/app"),
        (None, {}, ""),
    ],
)
def test_page_link_appends_the_query(
    base: str | None, params: dict[str, list[str]], link: str
) -> None:
    assert export.page_link(base, params) == link


def test_chart_downloads_name_their_files_and_render_on_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    buttons: dict[str, tuple[Any, dict[str, Any]]] = {}

    def fake_button(label: str, data: Any, **kwargs: Any) -> bool:
        buttons[label] = (data, kwargs)
        return False

    monkeypatch.setattr(export.st, "download_button", fake_button)
    export.chart_downloads(_bars(), "bars")
    export.table_download(pd.DataFrame({"a": [1, 2]}), "stats")

    assert buttons["PNG"][1]["file_name"] == "initlab-bars.png"
    assert buttons["SVG"][1]["file_name"] == "initlab-bars.svg"
    assert buttons["CSV"][1]["file_name"] == "initlab-stats.csv"
    assert buttons["PNG"][0]().startswith(PNG_SIGNATURE)
    assert ET.fromstring(buttons["SVG"][0]()).tag == SVG_TAG
    assert buttons["CSV"][0]() == "a\n1\n2\n"


def _page() -> None:
    import altair as alt
    import pandas as pd
    import streamlit as st

    from ui import export

    n = st.slider("Bars", 1, 20, 5, key="bars", bind="query-params")
    df = pd.DataFrame({"x": range(n), "y": range(n)})
    chart = alt.Chart(df).mark_bar().encode(x="x:O", y="y:Q")
    st.altair_chart(chart)
    export.chart_downloads(chart, "bars")
    export.table_download(df, "bars")
    export.config_link()


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every file rendered; the page tests expect none."""
    calls: list[str] = []

    def count(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return fn(*args, **kwargs)

        return counted

    monkeypatch.setattr(export, "chart_spec", count("spec", export.chart_spec))
    monkeypatch.setattr(export, "table_csv", count("csv", export.table_csv))
    monkeypatch.setattr(vl_convert, "vegalite_to_png", count("png", vl_convert.vegalite_to_png))
    monkeypatch.setattr(vl_convert, "vegalite_to_svg", count("svg", vl_convert.vegalite_to_svg))
    return calls


def test_page_shows_deferred_buttons_that_do_not_rerun(renders: list[str]) -> None:
    at = AppTest.from_function(_page, default_timeout=TIMEOUT).run()
    assert not at.exception
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["PNG", "SVG", "CSV"]
    assert all(b.proto.deferred_file_id and not b.proto.url for b in buttons)
    assert all(b.proto.ignore_rerun for b in buttons)
    assert renders == []


def test_page_rerun_renders_no_file(renders: list[str]) -> None:
    at = AppTest.from_function(_page, default_timeout=TIMEOUT).run()
    at.slider(key="bars").set_value(12).run()
    at.run()
    assert not at.exception
    assert len(at.get("download_button")) == 3
    assert renders == []


def test_config_link_shows_the_query_without_a_browser_url() -> None:
    at = AppTest.from_function(_page, default_timeout=TIMEOUT)
    at.query_params["bars"] = "7"
    at.run()
    assert not at.exception
    assert at.slider(key="bars").value == 7
    (sentence,) = [m.value for m in at.markdown]
    assert "[this link](<?bars=7>)" in sentence


def _has_cjk_font() -> bool:
    try:
        listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(listed.stdout.strip())


@pytest.mark.skipif(
    not _has_cjk_font(), reason="no CJK font (apt-get install fonts-noto-cjk; see packages.txt)"
)
@pytest.mark.parametrize(("one", "other"), [("权", "重"), ("初", "期"), ("み", "の")])
def test_exported_png_draws_chinese_and_japanese_glyphs_not_boxes(one: str, other: str) -> None:
    """A missing glyph is drawn as the same box whatever the character ("tofu"), so two
    different characters would give the same picture; with a CJK font they differ."""

    def png(title: str) -> bytes:
        chart = (
            alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x=alt.X("x:Q", title=title * 3))
        )
        return export.chart_png(chart.properties(width=120, height=40), scale=1)

    assert png(one) != png(other)
