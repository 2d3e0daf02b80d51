"""The page's URL and its settings, kept in step through the settings table.

The widgets are not bound to the URL by Streamlit: a URL value then reaches a widget only
after `ui.settings.parse` has checked it (Streamlit's own parsing raised on `?seed=inf` and
silently reset out-of-range values). The rule is simple: when the URL is not the one this
page last wrote (a first visit, a shared link, the browser's back button), the URL wins and
sets every setting; otherwise the widgets win, and the URL is rewritten from them after
every run. Keys the table does not know never make it back into the URL or the share link.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from ui.i18n import language_from_locale, use_language
from ui.settings import BY_KEY, LANGUAGE, OLD_KEYS, SETTINGS, Setting, parse, to_url

Query = dict[str, list[str]]
_WRITTEN = "_url_written"  # session key: the query this page last wrote into the URL


def read_url() -> list[str]:
    """Set every setting from the URL when it is new to this page; the notices on values
    that had to be changed (out of range, unreadable), to be shown once."""
    query = _current_query()
    if query == st.session_state.get(_WRITTEN):
        return []
    renamed = {OLD_KEYS.get(k, k): v for k, v in query.items() if OLD_KEYS.get(k, k) in BY_KEY}
    if LANGUAGE.key not in renamed:  # no language in the link: the browser's
        renamed[LANGUAGE.key] = [language_from_locale(st.context.locale)]
    use_language(parse(LANGUAGE, renamed[LANGUAGE.key]).value)  # the notices speak it
    problems = []
    for setting in SETTINGS:
        parsed = parse(setting, renamed.get(setting.key, []))
        st.session_state[setting.key] = _state_value(setting, parsed.value)
        if parsed.problem:
            problems.append(parsed.problem)
    write_url()
    return problems


def speak() -> None:
    """Make this run (or fragment rerun) speak the page's chosen language."""
    ensure_state(LANGUAGE)
    use_language(str(st.session_state[LANGUAGE.key]))


def ensure_state(setting: Setting) -> None:
    """Give `setting` its default in session state if it has none (Streamlit drops a
    widget's state after a run that did not draw it)."""
    if setting.key not in st.session_state:
        st.session_state[setting.key] = _state_value(setting, setting.default)


def canonical_query(state: Mapping[str, object]) -> Query:
    """The URL of `state`: every setting that applies and differs from its default."""
    query: Query = {}
    for setting in SETTINGS:
        if setting.key in state and _applies(setting, state):
            value = state[setting.key]
            if not same_value(setting, value, setting.default):
                query[setting.key] = to_url(setting, value)
    return query


def write_url() -> None:
    """Rewrite the URL from the settings (only if it changed: each write is a message)."""
    query = canonical_query(st.session_state)
    if query != _current_query():
        st.query_params.from_dict(query)
    st.session_state[_WRITTEN] = query


def same_value(setting: Setting, a: object, b: object) -> bool:
    """Equal as settings: a multiselect's list equals the tuple of the same choices."""
    if setting.kind == "multiselect":
        return tuple(a) == tuple(b)  # type: ignore[arg-type]
    return a == b


def _applies(setting: Setting, state: Mapping[str, object]) -> bool:
    if setting.applies_when is None:
        return True
    name, value = setting.applies_when
    return state.get(f"{setting.section}.{name}") == value


def _state_value(setting: Setting, value: object) -> object:
    """A multiselect keeps a list in session state, everything else the value itself."""
    return list(value) if setting.kind == "multiselect" else value  # type: ignore[call-overload]


def _current_query() -> Query:
    return {key: st.query_params.get_all(key) for key in st.query_params}
