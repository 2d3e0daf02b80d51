"""The page benchmark's peer: the page's first chart alone, on an otherwise empty page.

The same histograms as the page opens with (the default settings, by the same cached call and
the same chart function) and nothing else: no sidebar, no table, no race, no width report.
Its load time is what Streamlit, the browser and this one chart cost on this machine; what the
page takes beyond it is what the rest of the page costs.

    streamlit run benchmarks/chart_alone.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from ui import charts
from ui.compute import cached_forward_view
from ui.config import DEFAULT_FORWARD
from ui.labels import activation_label

st.set_page_config(page_title="Init Lab: the first chart alone", layout="wide")
view = cached_forward_view(DEFAULT_FORWARD)
chart = charts.histogram_chart(
    view.histograms,
    x_title=f"{activation_label(DEFAULT_FORWARD.activation)} output",
    x_domain=view.x_domain,
)
st.altair_chart(chart, width="content")
