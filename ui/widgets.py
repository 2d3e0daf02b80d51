"""The settings table's rows as Streamlit widgets: one function draws any of them.

A widget's value lives in session state under its key (seeded from the URL or the default by
`ui.url_state`), so no widget is given a default here: that is the table's job.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.i18n import _
from ui.settings import Setting
from ui.url_state import ensure_state


def draw(setting: Setting, where: Any = st) -> Any:
    """Draw `setting`'s widget in `where` (a container, a column, `st.sidebar`) and return
    its value (a multiselect's as a tuple)."""
    ensure_state(setting)
    label = _(setting.label)
    common = {"key": setting.key, "help": _(setting.help) if setting.help else None}
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
    raise ValueError(f"{setting.key} is drawn by `draw_tabs`, not as a widget")


def draw_tabs(setting: Setting) -> dict[object, Any]:
    """The tabs of a "tabs" setting, labelled in the reader's language: {option: tab}.

    The setting's own key holds the chosen option (in the source language, as the URL and
    the presets know it); the tab widget has a key of its own holding the translated label,
    so a change of language keeps the open tab.
    """
    ensure_state(setting)
    labels = [_(str(option)) for option in setting.options]
    widget_key = f"{setting.key}.tab"
    st.session_state[widget_key] = labels[setting.options.index(st.session_state[setting.key])]

    def chosen() -> None:
        st.session_state[setting.key] = setting.options[labels.index(st.session_state[widget_key])]

    tabs = st.tabs(labels, key=widget_key, on_change=chosen)
    return dict(zip(setting.options, tabs, strict=True))
