"""The settings table's rows as Streamlit widgets: one function draws any of them; and the
expanders whose open or closed state is a widget too (`lazy_expander`), which are not settings.

A widget's value lives in session state under its key (seeded from the URL or the default by
`ui.url_state`). Each widget is also given that value as its default: a browser that builds a
widget from a run that did not set its value (two runs in quick succession on a slow browser:
the page's first run and the rerun its measured width starts) falls back on the widget's
default, and sends it back with the next click. Without one, that was Streamlit's own (the
first option, the slider's minimum, no initializer to race): the page's settings silently
changed under a race, and a race's results were lost with them.
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
    value = st.session_state[setting.key]
    label = _(setting.label)
    common = {"key": setting.key, "help": _(setting.help) if setting.help else None}
    kind = setting.kind
    if kind == "select":
        fmt = setting.format_option or str
        index = setting.options.index(value) if value in setting.options else 0
        return where.selectbox(label, setting.options, index=index, format_func=fmt, **common)
    if kind == "multiselect":
        fmt = setting.format_option or str
        chosen = list(value)
        return tuple(where.multiselect(label, setting.options, chosen, format_func=fmt, **common))
    if kind == "slider":
        low, high, step = int(setting.low), int(setting.high), int(setting.step)  # type: ignore[arg-type]
        return where.slider(label, low, high, value, step=step, **common)
    if kind == "select_slider":
        return where.select_slider(label, setting.options, value, **common)
    if kind == "number":
        if isinstance(setting.default, int):
            low, high = int(setting.low), int(setting.high)  # type: ignore[arg-type]
            return where.number_input(label, low, high, value, step=1, **common)
        return where.number_input(
            label, setting.low, setting.high, value, step=setting.step, format="%.4g", **common
        )
    if kind == "toggle":
        return where.toggle(label, value, **common)
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

    tabs = st.tabs(labels, key=widget_key, on_change=chosen, default=st.session_state[widget_key])
    return dict(zip(setting.options, tabs, strict=True))


# The expanders whose content is drawn only while they are open, by their keys. Their content
# (code blocks, long prose, a table of every initializer) is what the browser renders before it
# gets to the first chart; drawn only when opened, the first chart came about 1 s sooner (a warm
# load in headless Chromium on two cores, 4.8 s → 3.8 s, measured side by side).
FRAMEWORKS_OPEN = "open.frameworks"
ABOUT_OPEN = "open.about"
ALL_FRAMEWORKS_OPEN = "open.all_frameworks"
LAZY_EXPANDERS = (FRAMEWORKS_OPEN, ABOUT_OPEN, ALL_FRAMEWORKS_OPEN)


def lazy_expander(key: str, label: str, icon: str) -> Any | None:
    """An expander, returned only while it is open (None while it is closed), so that the
    caller draws its content then only. Opening it reruns the script, or the fragment it is
    in: call it from a fragment of its own, so that opening it does not stop a race."""
    expander = st.expander(label, icon=icon, key=key, on_change="rerun")
    return expander if expander.open else None
