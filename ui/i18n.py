"""The page in its reader's language: English, 简体中文 or 日本語, from gettext catalogs.

Messages are written in English in the code, wrapped in `_()` (or `N_()` where a constant is
only marked, and translated where it is shown), and live translated in `ui/locales/<lang>/
LC_MESSAGES/messages.po`: plain gettext catalogs that Poedit or Weblate can edit, extracted,
updated and compiled with Babel (the README tells how). Python's own `gettext` reads the
compiled `.mo` files, so the app needs nothing more at run time.

The language is per script run: Streamlit runs each visitor's script in its own thread, so
the current language is a context variable that `use_language` sets at the top of every run
(and of every fragment rerun), never a global.
"""

from __future__ import annotations

import contextvars
import functools
import gettext
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

LANGUAGES: Mapping[str, str] = MappingProxyType({"en": "English", "zh": "简体中文", "ja": "日本語"})
SOURCE_LANGUAGE = "en"
LOCALE_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"

_language: contextvars.ContextVar[str] = contextvars.ContextVar("language", default="en")


@functools.cache
def _catalog(language: str) -> gettext.NullTranslations:
    """The compiled catalog of `language`; English is the source, so it has none."""
    if language == SOURCE_LANGUAGE:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language])


def use_language(language: str) -> None:
    """Make `language` (a key of `LANGUAGES`) the one this script run speaks."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; choose one of: {', '.join(LANGUAGES)}")
    _language.set(language)


def current_language() -> str:
    return _language.get()


def _(message: str) -> str:
    """`message` in the current language (itself when it has no translation)."""
    return _catalog(_language.get()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, by the current language's plural rule."""
    return _catalog(_language.get()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks `message` for the catalogs without translating it: constants are translated
    where they are shown, in the language of that run."""
    return message


def language_from_locale(locale: str | None) -> str:
    """The page's language for a browser's locale ("zh-CN", "ja", "en-US", None)."""
    prefix = (locale or "").replace("_", "-").split("-")[0].lower()
    return prefix if prefix in LANGUAGES else SOURCE_LANGUAGE


def join_list(items: Iterable[str]) -> str:
    """Items of a list, with the language's comma ("a, b" in English, "a、b" in Chinese)."""
    return _(", ").join(items)


def join_clauses(items: Iterable[str]) -> str:
    """Clauses of a sentence, with the language's semicolon ("a; b", "a；b")."""
    return _("; ").join(items)
