"""The settings table's rows as Streamlit widgets: one function draws any of them.

A widget's value lives in session state under its key (seeded from the URL or the default by
`ui.url_state`), so no widget is given a default here: that is the table's job.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.settings import Setting
from ui.url_state import ensure_state


def draw(setting: Setting, where: Any = st) -> Any:
    """Draw `setting`'s widget in `where` (a container, a column, `st.sidebar`) and return
    its value (a multiselect's as a tuple)."""
    ensure_state(setting)
    label, common = setting.label, {"key": setting.key, "help": setting.help or None}
    kind = setting.kind
    if kind == "select":
        fmt = setting.format_option or str
        return where.selectbox(label, setting.options, format_func=fmt, **common)
    if kind == "multiselect":
        fmt = setting.format_option or str
        return tuple(where.multiselect(label, setting.options, format_func=fmt, **common))
    if kind == "slider":
        low, high, step = int(setting.low), int(setting.high), int(setting.step)  # type: ignore[arg-type]
        return where.slider(label, low, high, step=step, **common)
    if kind == "select_slider":
        return where.select_slider(label, setting.options, **common)
    if kind == "number":
        if isinstance(setting.default, int):
            low, high = int(setting.low), int(setting.high)  # type: ignore[arg-type]
            return where.number_input(label, low, high, step=1, **common)
        return where.number_input(
            label, setting.low, setting.high, step=setting.step, format="%.4g", **common
        )
    if kind == "toggle":
        return where.toggle(label, **common)
    raise ValueError(f"{setting.key} is drawn by its view, not as a widget")
