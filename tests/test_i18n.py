"""The translated catalogs: complete, in the book's words, compiled, and served by `ui.i18n`.

The English template `ui/locales/messages.pot` is the list of messages; every other language
of `ui.i18n.LANGUAGES` has a `.po` catalog that must translate all of it, keep each message's
placeholders and Markdown, use the terms of `ui/locales/glossary.csv` (the words of the book's
Chinese and Japanese editions), and ship the `.mo` file compiled from it.
"""

from __future__ import annotations

import contextvars
import csv
import functools
import gettext
import io
import re
import string
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

import core
from ui import i18n

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "ui" / "locales"
TEMPLATE = LOCALES / "messages.pot"
GLOSSARY = LOCALES / "glossary.csv"
TRANSLATED = tuple(lang for lang in i18n.LANGUAGES if lang != i18n.SOURCE_LANGUAGE)
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}  # how `ui.i18n` marks messages

# Babel marks a message python-format when its English merely looks like a %-conversion:
# "5 % of" reads as "% o". These messages are never %-formatted, and no translation can
# carry a matching "% o", so Babel's format check cannot pass on them. Rewording "5 % of" in
# the English (say "5 percent of") ends it; then drop the message from this list.
PERCENT_LOOKALIKES: frozenset[str] = frozenset()  # none since the rewording


@functools.cache
def template() -> Catalog:
    with TEMPLATE.open("rb") as f:
        return read_po(f)


@functools.cache
def catalog(lang: str) -> Catalog:
    with (LOCALES / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.po").open("rb") as f:
        return read_po(f, locale=lang)


@functools.cache
def glossary() -> tuple[dict[str, str], ...]:
    with GLOSSARY.open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def messages(cat: Catalog) -> list[Message]:
    return [m for m in cat if m.id]  # without the header


def ids(message: Message) -> list[str]:
    return [message.id] if isinstance(message.id, str) else list(message.id)


def forms(message: Message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


def placeholders(text: str) -> set[tuple[str, str, str | None]]:
    """The (name, format spec, conversion) of each field, as `str.format` reads them."""
    return {
        (name, spec, conversion)
        for _, name, spec, conversion in string.Formatter().parse(text)
        if name is not None
    }


def translated(lang: str, msgid: str) -> str:
    message = catalog(lang)[msgid]
    assert message is not None, msgid
    return forms(message)[0]


def translations(lang: str) -> list[tuple[str, str]]:
    """(English, translation) for every message and plural form of `lang`'s catalog."""
    return [(ids(m)[0], text) for m in messages(catalog(lang)) for text in forms(m)]


def test_template_is_current() -> None:
    """Extracting the code's messages again gives exactly the template's msgids."""
    with (LOCALES / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    extracted = {
        msgid if isinstance(msgid, str) else tuple(msgid)
        for _file, _line, msgid, _comments, _context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS
        )
    }
    in_template = {m.id for m in messages(template())}
    new, gone = sorted(map(str, extracted - in_template)), sorted(map(str, in_template - extracted))
    assert not new, f"in the code, not in messages.pot (re-extract): {new}"
    assert not gone, f"in messages.pot, gone from the code (re-extract): {gone}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_translates_every_message(lang: str) -> None:
    cat = catalog(lang)
    assert not cat.fuzzy, "a fuzzy catalog is skipped by pybabel compile"
    expected = {m.id for m in messages(template())}
    present = {m.id for m in messages(cat)}
    missing, stale = expected - present, present - expected
    assert not missing, f"missing from {lang} (update it from the template): {missing}"
    assert not stale, f"stale in {lang} (update it from the template): {stale}"
    for m in messages(cat):
        assert "fuzzy" not in m.flags, (lang, m.id)
        if isinstance(m.id, tuple):
            assert len(forms(m)) == cat.num_plurals, (lang, m.id)
        assert all(text.strip() for text in forms(m)), (lang, m.id)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_the_placeholders(lang: str) -> None:
    for m in messages(catalog(lang)):
        # With one plural form, that form serves every n: it needs the plural's fields too.
        english = set().union(*(placeholders(msgid) for msgid in ids(m)))
        for text in forms(m):
            assert placeholders(text) == english, (lang, m.id, text)
    # The chart splits the facet heading around its one {n}.
    assert len(translated(lang, "Layer {n}").split("{n}")) == 2


def is_punctuation(char: str) -> bool:
    return unicodedata.category(char)[0] in "PS"  # CommonMark: Unicode punctuation or symbol


def emphasis_errors(text: str) -> list[int]:
    """Where `*` or `**` fails to open or close as CommonMark reads it.

    A delimiter run next to punctuation only opens after a space or punctuation and only
    closes before one: `**结论：**文字` stays literal asterisks, `**结论**：文字` is bold. Fields
    stand for words, code spans are set aside.
    """
    text = re.sub(r"`[^`]*`", "C", re.sub(r"\{[^{}]*\}", "X", text))
    open_runs: list[tuple[int, int]] = []
    errors = []
    for run in re.finditer(r"\*+", text):
        before = text[run.start() - 1] if run.start() else " "
        after = text[run.end()] if run.end() < len(text) else " "
        opens = not after.isspace() and (
            not is_punctuation(after) or before.isspace() or is_punctuation(before)
        )
        closes = not before.isspace() and (
            not is_punctuation(before) or after.isspace() or is_punctuation(after)
        )
        length = len(run.group())
        if closes and open_runs and open_runs[-1][0] == length:
            open_runs.pop()
        elif opens:
            open_runs.append((length, run.start()))
        else:
            errors.append(run.start())
    return errors + [start for _length, start in open_runs]


def markdown_shape(text: str) -> tuple[object, ...]:
    prose = re.sub(r"`[^`]*`", "", text)
    return (
        sorted(re.findall(r"`[^`]*`", text)),  # code, verbatim
        re.findall(r"\]\(([^)\s]+)\)", text),  # link targets
        re.findall(r":material/\w+:", text),  # icons
        len(re.findall(r"(?m)^- ", text)),  # list items
        prose.count("**"),
        prose.count("*"),
        text.startswith("\n"),
        text.endswith("\n"),
    )


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_keep_the_markdown(lang: str) -> None:
    for english, text in translations(lang):
        assert not emphasis_errors(english), english  # the checker reads the English right
        assert markdown_shape(text) == markdown_shape(english), (lang, english, text)
        assert not emphasis_errors(text), (lang, text)


def test_glossary_is_well_formed() -> None:
    rows = glossary()
    assert rows
    with GLOSSARY.open(encoding="utf-8", newline="") as f:
        assert next(csv.reader(f)) == ["en", "zh", "ja", "note"]
    for row in rows:
        re.compile(row["en"], re.IGNORECASE)
        assert row["note"].strip(), row
        assert any(row[lang].strip() for lang in TRANSLATED), row
    assert len({row["en"] for row in rows}) == len(rows)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_translations_use_the_glossary(lang: str) -> None:
    """Where the English names a glossary concept, the translation uses the book's term."""
    misses = [
        (row["en"], row[lang], text)
        for row in glossary()
        if row[lang]
        for english, text in translations(lang)
        if re.search(row["en"], english, re.IGNORECASE) and row[lang] not in text
    ]
    assert not misses, "\n".join(f"{pat!r} needs {term!r}: {t!r}" for pat, term, t in misses)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_glorot_is_not_the_books_xavier(lang: str) -> None:
    """The book's "Xavier" is √(1/n); Glorot/Xavier (fan_in + fan_out) must not take its name."""
    book_label = 'LeCun normal √(1/n): the book\'s "Xavier"'
    (term,) = {row[lang] for row in glossary() if re.search(row["en"], book_label, re.IGNORECASE)}
    glorot = [
        text
        for english, text in translations(lang)
        if re.search(r"Glorot/Xavier|Xavier/Glorot", english) and '"Xavier"' not in english
    ]
    assert glorot
    assert all(term not in text for text in glorot), glorot


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalog_passes_babels_checks(lang: str) -> None:
    """What pybabel compile reports as errors (a format that does not match, a plural form
    missing), apart from the known look-alikes above."""
    errors = {
        ids(m)[0]: [str(e) for e in errs]
        for m, errs in catalog(lang).check()
        if ids(m)[0] not in PERCENT_LOOKALIKES
    }
    assert not errors
    gone = [msgid for msgid in PERCENT_LOOKALIKES if catalog(lang)[msgid] is None]
    assert not gone, f"reworded, remove from PERCENT_LOOKALIKES: {gone}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_mo_is_the_compiled_po(lang: str) -> None:
    compiled = io.BytesIO()
    write_mo(compiled, catalog(lang))
    compiled.seek(0)
    with (LOCALES / lang / "LC_MESSAGES" / f"{i18n.DOMAIN}.mo").open("rb") as f:
        shipped = gettext.GNUTranslations(f)
    assert shipped._catalog == gettext.GNUTranslations(compiled)._catalog, (
        f"recompile: pybabel compile -d ui/locales -D {i18n.DOMAIN} -l {lang}"
    )


def in_language(lang: str, fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` with `lang` set, in a context of its own: the other tests stay in English."""

    def run() -> T:
        i18n.use_language(lang)
        return fn(*args)

    return contextvars.copy_context().run(run)


SINGULAR, PLURAL = "{series} at {n} layer", "{series} at {n} layers"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_the_page_speaks_the_catalog(lang: str) -> None:
    assert in_language(lang, i18n.current_language) == lang
    assert in_language(lang, i18n._, "Train") == translated(lang, "Train") != "Train"
    (form,) = forms(catalog(lang)[(SINGULAR, PLURAL)])
    for n in (0, 1, 2, 30):
        assert in_language(lang, i18n.ngettext, SINGULAR, PLURAL, n) == form
    assert in_language(lang, i18n._, "no such message") == "no such message"
    assert i18n.current_language() == i18n.SOURCE_LANGUAGE  # nothing leaked


def test_english_is_the_source() -> None:
    assert in_language("en", i18n._, "Train") == "Train"
    assert in_language("en", i18n.ngettext, SINGULAR, PLURAL, 1) == SINGULAR
    assert in_language("en", i18n.ngettext, SINGULAR, PLURAL, 2) == PLURAL
    with pytest.raises(ValueError, match="unknown language"):
        i18n.use_language("fr")


@pytest.mark.parametrize(
    ("locale", "language"),
    [
        ("zh-CN", "zh"),
        ("zh_CN", "zh"),
        ("zh-TW", "zh"),  # Traditional Chinese readers get the Simplified page
        ("zh_TW", "zh"),
        ("zh-Hant-HK", "zh"),
        ("ja-JP", "ja"),
        ("ja", "ja"),
        ("JA-jp", "ja"),
        ("en-US", "en"),
        ("en", "en"),
        ("fr", "en"),
        ("fr-CA", "en"),
        ("jv", "en"),
        ("jav", "en"),  # a prefix, not a startswith: Javanese is not Japanese
        ("", "en"),
        (None, "en"),
    ],
)
def test_language_from_locale(locale: str | None, language: str) -> None:
    assert i18n.language_from_locale(locale) == language


def test_a_registry_scheme_without_page_words_keeps_cores_label(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A row added to the registry before the page has words for it is named by core's label,
    never as a fixed std it is not."""
    from ui import labels

    worded = {k: v for k, v in labels.INITIALIZER_LABELS.items() if k != "he_uniform"}
    monkeypatch.setattr(labels, "INITIALIZER_LABELS", worded)
    assert labels.initializer_label("he_uniform") == core.INITIALIZERS["he_uniform"].label
