"""What a visitor sees when a part of the page fails: the app's own words, never a traceback.

The public page must not show a server's paths or code (`client.showErrorDetails` is "none"
in `.streamlit/config.toml`), so each section of the page is guarded: a failure is logged on
the server with its traceback and the visitor reads a short message in its place, while the
other sections and every setting stay as they were.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec

import streamlit as st

from ui.i18n import N_, _

P = ParamSpec("P")
LOG = logging.getLogger("initlab")
SECTION_FAILED = N_(
    "This part of the page could not be drawn ({section}); the rest of the page and your "
    "settings are kept. Try other settings, or reload the page."
)
REFUSED = N_(
    "These settings cannot be computed: change one of them and try again. The computation's "
    "reason, as it gives it:"
)


SECTIONS = (N_("activations"), N_("training race"), N_("about"))  # the names `guarded` takes


def guarded(section: str) -> Callable[[Callable[P, None]], Callable[P, None]]:
    """Run a page section; on an unexpected error, log it and show `SECTION_FAILED`.

    Streamlit's own stop and rerun signals are not `Exception`s, so they pass through.
    """

    def wrap(render: Callable[P, None]) -> Callable[P, None]:
        @functools.wraps(render)
        def run(*args: P.args, **kwargs: P.kwargs) -> None:
            try:
                render(*args, **kwargs)
            except Exception:
                LOG.exception("the %s section failed", section)
                st.error(_(SECTION_FAILED).format(section=_(section)), icon=":material/error:")

        return run

    return wrap


def show_refusal(error: ValueError) -> None:
    """Core's refusal of settings the page let through, in the reader's language, with core's
    own reason below as a technical detail: it names arguments and formulas, which stay as
    they are in every language (and it holds no path: core's ValueErrors name values only)."""
    st.error(_(REFUSED), icon=":material/block:")
    st.code(str(error), language=None, wrap_lines=True)
