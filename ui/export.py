"""Downloads: every chart as PNG and SVG, every table as CSV, and the settings as a link.

Files are made only when their button is clicked (a callable as `st.download_button`'s data),
so a rerun costs nothing. A conversion takes 0.1-0.4 s (0.7 s for the first, which starts
the converter's JavaScript engine), and the converter adds 100-150 MB to the process once
it has run. It renders on the server, offline: the spec carries its data inline and no URL is
allowed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

import altair as alt
import pandas as pd
import streamlit as st

from ui.i18n import _

AnyChart = (
    alt.Chart
    | alt.LayerChart
    | alt.FacetChart
    | alt.ConcatChart
    | alt.HConcatChart
    | alt.VConcatChart
)

FILE_PREFIX = "initlab"
PNG_SCALE = 2  # twice the screen's pixels: sharp on a slide
EXPORT_WIDTH = 640  # for charts that stretch to the page on screen; a file has no page to fill

try:
    from streamlit.elements.vega_charts import _altair_globals_lock as _ALTAIR_LOCK
except ImportError:  # a private name, so it may move: then guard our own use at least
    _ALTAIR_LOCK = threading.Lock()


def file_name(name: str, ext: str) -> str:
    """`initlab-<name>.<ext>`, so downloads from the app sort together."""
    return f"{FILE_PREFIX}-{name}.{ext}"


def chart_spec(chart: AnyChart) -> dict[str, Any]:
    """The chart's Vega-Lite spec, data inline, charts without a width `EXPORT_WIDTH` wide."""
    # Altair's data transformer and theme are global, and Streamlit swaps them (under this
    # lock) while it draws charts on other threads; a file may also hold 5,000+ rows.
    with _ALTAIR_LOCK, alt.data_transformers.disable_max_rows():
        spec = chart.to_dict()
    config = spec.get("config", {})
    spec["config"] = {**config, "view": {**config.get("view", {}), "continuousWidth": EXPORT_WIDTH}}
    return spec


def chart_png(chart: AnyChart, scale: float = PNG_SCALE) -> bytes:
    """PNG bytes, `scale` times the chart's pixel size, on a white background."""
    import vl_convert  # here, not at the top: a process that never exports skips its 10-20 MB

    return vl_convert.vegalite_to_png(chart_spec(chart), scale=scale, allowed_base_urls=[])


def chart_svg(chart: AnyChart) -> str:
    """SVG text of the chart, at its pixel size."""
    import vl_convert

    return vl_convert.vegalite_to_svg(chart_spec(chart), allowed_base_urls=[])


def table_csv(df: pd.DataFrame) -> str:
    """The table as CSV, without pandas' row index."""
    return df.to_csv(index=False)


def chart_downloads(chart: AnyChart, name: str) -> None:
    """PNG and SVG download buttons in one row; the file is rendered only on click.

    The chart's own toolbar offers a PNG on hover, drawn by the browser; these are always
    visible, named, twice the resolution, and include SVG.
    """
    with st.container(horizontal=True, gap="small", width="content"):
        _download("PNG", lambda: chart_png(chart), file_name(name, "png"), "image/png")
        _download("SVG", lambda: chart_svg(chart), file_name(name, "svg"), "image/svg+xml")


def table_download(df: pd.DataFrame, name: str) -> None:
    """A CSV download button, made on click so that no session keeps a copy of the CSV.

    `st.dataframe`'s toolbar can download CSV too, but only on hover; `st.table` has none.
    """
    _download("CSV", lambda: table_csv(df), file_name(name, "csv"), "text/csv")


def _download(label: str, data: Callable[[], str | bytes], file: str, mime: str) -> None:
    """One small button; `on_click="ignore"` so a download does not rerun the page."""
    st.download_button(
        label,
        data,
        file_name=file,
        mime=mime,
        key=f"export-{file}",
        help=_("Download `{file}`").format(file=file),
        on_click="ignore",
        type="tertiary",
        icon=":material/download:",
    )


def page_link(base_url: str | None, params: Mapping[str, Sequence[str]]) -> str:
    """The page URL with `params` as its query string; just `?query` when the URL is unknown."""
    query = urlencode(params, doseq=True)  # as Streamlit writes the URL: repeated keys for lists
    if not query:
        return base_url or ""
    return f"{base_url or ''}?{query}"


def config_link() -> None:
    """A sentence offering the current page's full URL, which holds every widget's value, as
    a link to open or copy. A link rather than a code block with a copy button: the page's
    first code block has the browser load and set up a syntax highlighter, half a second of
    its time before the first chart is drawn (measured in headless Chromium).

    Call it after the widgets: a widget drops a value it rejects from the URL as it runs.
    """
    params = {key: st.query_params.get_all(key) for key in st.query_params}
    link = page_link(st.context.url, params)
    st.markdown(
        _("**Share these settings:** [this link](<{link}>) reopens the page as it is set now.")
        .format(link=link)
    )  # fmt: skip
