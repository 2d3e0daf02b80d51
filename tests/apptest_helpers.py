"""AppTest helpers shared by the app's test modules (their fixtures are in conftest.py).

AppTest exposes an Altair chart as its Vega-Lite spec (JSON) and Arrow datasets. Every test
runs offline (INITLAB_OFFLINE=1) with an empty MNIST cache folder, so training always uses
the bundled sample and nothing is downloaded.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from streamlit.testing.v1 import AppTest

from ui.settings import RACE_BY_NAME as RACE
from ui.settings import Setting
from ui.widgets import LAZY_EXPANDERS

APP = Path(__file__).resolve().parent.parent / "streamlit_app.py"
TIMEOUT = 60
# The race of the `raced` page (conftest.py): the book's collapse against He, on the default
# network, long enough for every chart and view of a finished race.
SHORT_RACE = ("std_0.01", "he_normal")
SHORT_RACE_ITERATIONS = 20


# --- helpers ---------------------------------------------------------------------------------

_LINK = re.compile(r"\]\(<([^>]*)>\)")  # a Markdown link written [text](<url>)


def share_link(at: AppTest) -> str:
    """The URL that the page's share link holds (the last Markdown link written with <url>)."""
    return [m.group(1) for md in at.markdown for m in _LINK.finditer(md.value)][-1]


def download_names(at: AppTest) -> set[str]:
    """The file names of the page's download buttons (each button's key names its file)."""
    return {b.key.removeprefix("export-") for b in at.get("download_button")}


def open_expanders(at: AppTest) -> AppTest:
    """Open every expander whose content is drawn only while it is open (from the next run)."""
    for key in LAZY_EXPANDERS:
        at.session_state[key] = True
    return at


def spec_of(chart: Any) -> dict[str, Any]:
    return json.loads(chart.proto.spec)


def data_of(chart: Any) -> pd.DataFrame:
    """The chart's one Arrow dataset as a DataFrame."""
    (dataset,) = chart.proto.datasets
    return pa.ipc.open_stream(dataset.data.data).read_all().to_pandas()


def datasets_of(chart: Any) -> list[pd.DataFrame]:
    """Every Arrow dataset of a (layered) chart, as DataFrames."""
    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in chart.proto.datasets]


def histogram_chart(at: AppTest) -> Any:
    charts_ = at.get("vega_lite_chart")
    found = [c for c in charts_ if spec_of(c).get("facet", {}).get("field") == "layer"]
    assert len(found) == 1, "expected exactly one histogram chart"
    return found[0]


def loss_chart(at: AppTest) -> Any:
    found = [c for c in at.get("vega_lite_chart") if "layer" in spec_of(c)]
    assert len(found) == 1, "expected exactly one loss chart"
    return found[0]


def units_chart(at: AppTest) -> Any:
    charts_ = at.get("vega_lite_chart")
    found = [
        c for c in charts_ if spec_of(c).get("encoding", {}).get("y", {}).get("field") == "units"
    ]
    assert len(found) == 1, "expected exactly one distinct-units chart"
    return found[0]


def histograms(at: AppTest) -> pd.DataFrame:
    return data_of(histogram_chart(at))


def texts(elements: Any) -> str:
    return "\n".join(str(e.value) for e in elements)


def assert_clean(at: AppTest) -> None:
    """No traceback and no error box."""
    assert not at.exception, at.exception
    assert not at.error, texts(at.error)


def train(at: AppTest, iterations: int = 30, race: list[str] | None = None) -> AppTest:
    """Set the race's length (and initializers) and press Train, in one run: the run a
    browser makes for the new settings before the click is not looked at."""
    at.slider(key=RACE["iterations"].key).set_value(iterations)
    if race is not None:
        at.multiselect(key=RACE["initializers"].key).set_value(race)
    at.button(key="train").click().run()
    return at


# AppTest's accessor for each widget kind of the settings table.
AT_KIND = {
    "select": "selectbox",
    "multiselect": "multiselect",
    "slider": "slider",
    "select_slider": "select_slider",
    "number": "number_input",
    "toggle": "toggle",
}


def other_value(setting: Setting) -> Any:
    """A valid value of `setting` other than its default, to change a control with."""
    default = setting.default
    if setting.kind == "toggle":
        return not default
    if setting.kind == "multiselect":
        return [o for o in setting.options if o not in default][:2]  # type: ignore[operator]
    if setting.kind in ("select", "tabs"):
        return next(o for o in reversed(setting.options) if o != default)
    if setting.kind == "select_slider":  # the neighbour: stays within the demo's budget
        i = setting.options.index(default)
        return setting.options[i + 1 if i + 1 < len(setting.options) else i - 1]
    step = setting.step or 1
    up = default + step * 2  # type: ignore[operator]
    return up if up <= setting.high else default - step * 2  # type: ignore[operator]
