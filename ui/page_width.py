"""The width of the page's main column, as the reader's browser lays it out.

Altair's small multiples (a facet) cannot stretch or wrap by themselves: their panels have a
fixed size, so a chart built for a desktop is wider than a phone. The charts therefore ask how
many panels fit in a row, and this module tells them the column's width. Streamlit's server
cannot ask the browser, so a tiny component without any view of its own measures the column it
sits in and reports the width, rounded down to `STEP` pixels so that resizing the window reruns
the page only now and then. The width is None until the browser has reported it (on the first
run of a page, and in tests without a browser): the charts then keep their desktop layout.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

KEY = "main_width"
_REPORTED = "main_width.reported"  # set when a report reruns the page
STEP = 10  # pixels
# A known width is reported again only when it changes by this share or more (a window resized,
# a phone turned), never for a scrollbar coming or going: each report reruns the whole page.
CHANGE = 0.1

# `parentElement` is the component's shadow root; its host sits in the main column and is as
# wide as that column. The Python side passes back the width it knows, so a rerun that mounts
# the component again does not report the same width twice.
_JS = f"""
export default function ({{ parentElement, data, setStateValue }}) {{
  const host = parentElement.host ?? parentElement;
  let known = data?.width ?? null;
  const report = () => {{
    const width = Math.floor(host.getBoundingClientRect().width / {STEP}) * {STEP};
    const changed = known === null || Math.abs(width - known) >= {CHANGE} * known;
    if (width > 0 && changed) {{
      known = width;
      setStateValue("width", width);
    }}
  }};
  const observer = new ResizeObserver(report);
  observer.observe(host);
  report();
  return () => observer.disconnect();
}}
"""

_probe = st.components.v2.component("initlab_main_width", js=_JS)


def main_width() -> int | None:
    """The main column's width in pixels, as last reported; None before the first report."""
    state = st.session_state.get(KEY)
    width = state.get("width") if isinstance(state, Mapping) else None
    return int(width) if width else None


@st.fragment
def measure_main_width() -> None:
    """Mount the measuring component in the main column, above the charts (once in every full
    run: a widget that is not drawn forgets its value). A new width reruns the page.

    A fragment, so that a report reruns only this function first: a fragment's rerun waits for
    a race that is training (a rerun of the page would stop it), and then reruns the page to
    draw the charts at the new width.
    """
    _probe(
        key=KEY, data={"width": main_width()}, default={"width": None}, on_width_change=_reported
    )
    if st.session_state.get(_REPORTED):  # this run is the report's own: redraw the page
        st.rerun()


def rerun_for_width() -> bool:
    """Whether this run is the one that a new width started (asked once: the flag is reset)."""
    return bool(st.session_state.pop(_REPORTED, False))


def _reported() -> None:
    st.session_state[_REPORTED] = True
