"""Every setting of the page, declared once: its URL key, widget, range, default and cap.

The widgets (`ui.widgets`), the presets (`ui.presets`), the URL and the share link
(`ui.url_state`), the configs (`ui.config`) and the tests all read this table, so adding a
control is one row here plus its use in core.

URL keys are `<section>.<name>`: `fwd.` for the forward-pass experiment in the sidebar (and its
views), `race.` for the training race. `name` is the config field the setting fills where
there is one (`fwd.layers` fills `ForwardConfig.layers`). Links from before this scheme used
the keys in `old_key`; they are mapped onto the new ones when a page opens.

A value read from a URL is parsed and checked here before any widget sees it: a value out of
range is moved to the nearest allowed one (the cap, where the demo caps it) and reported, an
unreadable one falls back to the default and is reported.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

import core
from ui.i18n import LANGUAGES, N_, _, join_list
from ui.labels import CUSTOM_LABEL, activation_label, initializer_label, optimizer_label

Kind = Literal["select", "multiselect", "slider", "select_slider", "number", "toggle", "tabs"]
Section = Literal["page", "fwd", "race"]

CUSTOM_INIT = "custom"  # the initializer choice that reads its std from its own widget
MAX_SEED = 2**31 - 1
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})
_SHOWN_CHARS = 24  # how much of a rejected URL value a notice repeats


@dataclass(frozen=True, slots=True)
class Setting:
    """One control. `options` lists the choices of a select, multiselect, select slider or
    tabs; `low`/`high`/`step` bound a slider or number input. `capped` says that `high` is
    the public demo's cap rather than the experiment's natural end (the caps on combinations of
    settings are `ui.limits`')."""

    section: Section
    name: str
    kind: Kind
    label: str
    default: object
    options: tuple[object, ...] = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None
    capped: bool = False
    help: str = ""
    format_option: Callable[[object], str] | None = None
    url_codes: tuple[str, ...] = ()  # URL spellings of `options` (tabs), in the same order
    old_key: str = ""
    applies_when: tuple[str, object] | None = None  # (setting name, value) it depends on

    @property
    def key(self) -> str:
        """The widget's key, also its URL query parameter (a page-wide setting's is its name)."""
        return self.name if self.section == "page" else f"{self.section}.{self.name}"


@dataclass(frozen=True, slots=True)
class Parsed:
    """A URL value made valid, and what had to be changed to make it so ("" if nothing)."""

    value: object
    problem: str = ""


def _init_label(key: object) -> str:
    return _(CUSTOM_LABEL) if key == CUSTOM_INIT else initializer_label(str(key))


BATCH_NORM_HELP = N_(
    "The book's §6.3: standardize every hidden unit's input over the batch (mean 0, variance "
    "1, then a learned scale and shift) before the activation, whatever the weights' scale."
)
# The activations section's tabs: labels on the page, and their spellings in the URL.
VIEWS = (N_("Forward"), N_("Backward"), N_("Std vs depth"), N_("σ × depth"))
VIEW_CODES = ("forward", "backward", "depth", "sweep")

FORWARD: tuple[Setting, ...] = (
    Setting(
        "fwd", "activation", "select", N_("Activation"), "sigmoid",
        options=tuple(core.ACTIVATIONS), format_option=activation_label,
        old_key="activation",
    ),
    Setting(
        "fwd", "init", "select", N_("Initial weights"), "std_1",
        options=(*core.INITIALIZERS, CUSTOM_INIT), format_option=_init_label,
        help=N_("*Custom std* draws W from a normal distribution with the std you choose."),
        old_key="init",
    ),
    Setting(
        "fwd", "std", "number", N_("Custom std"), 0.05, low=0.0001, high=10.0, step=0.01,
        old_key="std", applies_when=("init", CUSTOM_INIT),
    ),
    Setting(
        "fwd", "layers", "slider", N_("Hidden layers"), 5, low=1, high=30,
        step=1, capped=True, old_key="layers",
    ),
    Setting(
        "fwd", "width", "slider", N_("Units per layer"), 100, low=10, high=1000,
        step=10, capped=True, old_key="width",
    ),
    Setting(
        "fwd", "samples", "slider", N_("Input samples"), 1000, low=100,
        high=5000, step=100, capped=True,
        help=N_("Random inputs x ~ N(0, 1), one row each."), old_key="samples",
    ),
    Setting("fwd", "seed", "number", N_("Seed"), 0, low=0, high=MAX_SEED, step=1, old_key="seed"),
    Setting(
        "fwd", "exclude_zeros", "toggle", N_("Hide the spike at zero"), False,
        help=N_(
            "ReLU outputs exactly 0 for every negative input; hiding those zeros shows the "
            "shape of the rest. The table still counts them."
        ),
        old_key="nozero",
    ),
    Setting(
        "fwd", "batch_norm", "toggle", N_("Batch norm"), False, help=BATCH_NORM_HELP, old_key="bn"
    ),
    Setting(
        "fwd", "view", "tabs", N_("View"), VIEWS[0], options=VIEWS, url_codes=VIEW_CODES,
        old_key="view",
    ),
    Setting(
        "fwd", "sweep_depth", "slider", N_("Depth (layers)"), 50, low=1,
        high=100, step=1, capped=True,
        help=N_("The map shows the activation std after every layer up to this depth."),
        old_key="maxdepth", applies_when=("view", VIEWS[3]),
    ),
)  # fmt: skip

RACE: tuple[Setting, ...] = (
    Setting(
        "race", "initializers", "multiselect", N_("Initializers to race"),
        ("std_0.01", "lecun_normal", "he_normal"),
        options=tuple(core.INITIALIZERS), format_option=initializer_label,
        help=N_("LeCun normal is the book's 'Xavier' (√(1/n)); Glorot is Glorot & Bengio's."),
        old_key="race",
    ),
    Setting(
        "race", "activation", "select", N_("Activation"), "relu", options=tuple(core.ACTIVATIONS),
        format_option=activation_label, old_key="tact",
    ),
    Setting(
        "race", "layers", "slider", N_("Hidden layers"), 4, low=1, high=30, step=1,
        help=N_("He et al.'s Fig. 3 trains 30 layers."), old_key="depth",
    ),
    Setting(
        "race", "units", "select_slider", N_("Units per layer"), 100,
        options=(25, 50, 100, 200, 300, 500), old_key="units",
    ),
    Setting(
        "race", "iterations", "slider", N_("Iterations"), 2000, low=10,
        high=5000, step=10, capped=True, old_key="iters",
    ),
    Setting(
        "race", "batch_size", "select_slider", N_("Batch size"), 128,
        options=(16, 32, 64, 128, 256, 512), old_key="batch",
    ),
    Setting(
        "race", "lr", "select_slider", N_("Learning rate"), 0.01,
        options=(0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0), old_key="lr",
    ),
    Setting(
        "race", "optimizer", "select", N_("Optimizer"), "sgd", options=tuple(core.OPTIMIZERS),
        format_option=optimizer_label, old_key="opt",
    ),
    Setting("race", "seed", "number", N_("Seed"), 0, low=0, high=MAX_SEED, step=1, old_key="tseed"),
    Setting(
        "race", "seeds", "slider", N_("Seeds per initializer"), 1, low=1, high=5, step=1,
        help=N_(
            "Train each initializer this many times, from different initial weights (the "
            "batches stay the same): the chart draws their mean over a band from the lowest "
            "to the highest."
        ),
        old_key="seeds",
    ),
    Setting(
        "race", "batch_norm", "toggle", N_("Batch norm"), False, help=BATCH_NORM_HELP,
        old_key="tbn",
    ),
)  # fmt: skip

# Page-wide: the language. Its label is the same in every language, so it can be found.
LANGUAGE = Setting(
    "page", "lang", "select", "Language · 语言 · 言語", "en", options=tuple(LANGUAGES),
    format_option=LANGUAGES.__getitem__,
)  # fmt: skip

SETTINGS: tuple[Setting, ...] = (LANGUAGE, *FORWARD, *RACE)
BY_KEY: Mapping[str, Setting] = MappingProxyType({s.key: s for s in SETTINGS})
FWD: Mapping[str, Setting] = MappingProxyType({s.name: s for s in FORWARD})
RACE_BY_NAME: Mapping[str, Setting] = MappingProxyType({s.name: s for s in RACE})
OLD_KEYS: Mapping[str, str] = MappingProxyType({s.old_key: s.key for s in SETTINGS if s.old_key})


def defaults(section: Sequence[Setting]) -> dict[str, object]:
    """{name: default} of a section's settings."""
    return {s.name: s.default for s in section}


def parse(setting: Setting, raw: Sequence[str]) -> Parsed:
    """A URL's values for `setting` as a valid widget value, and what was changed (worded
    in the current language)."""
    if not raw:
        return Parsed(setting.default)
    if setting.kind == "multiselect":
        return _parse_many(setting, raw)
    text = raw[-1].strip()
    if setting.kind in ("select", "tabs"):
        return _parse_choice(setting, text)
    if setting.kind == "toggle":
        word = text.lower()
        if word in TRUE_WORDS or word in FALSE_WORDS:
            return Parsed(word in TRUE_WORDS)
        return _fallback(setting, text, PROBLEMS["not_on_off"])
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if math.isnan(number):
        return _fallback(setting, text, PROBLEMS["not_a_number"])
    if setting.kind == "select_slider":
        return _parse_nearest_option(setting, text, number)
    return _parse_range(setting, text, number)


def to_url(setting: Setting, value: object) -> list[str]:
    """The URL spelling of a widget value (a list: a multiselect repeats its key)."""
    if setting.kind == "multiselect":  # none chosen: one empty value, not a missing key
        return [str(v) for v in value] or [""]  # type: ignore[attr-defined]
    if setting.kind == "tabs":
        return [setting.url_codes[setting.options.index(value)]]
    if setting.kind == "toggle":
        return ["true" if value else "false"]
    if isinstance(value, float) and value.is_integer() and isinstance(setting.default, int):
        value = int(value)
    return [repr(value) if isinstance(value, float) else str(value)]


# What a notice says when a URL value had to change; {value} is the URL's, {shown} the page's.
PROBLEMS: Mapping[str, str] = MappingProxyType(
    {
        "not_a_number": N_(
            "**{setting}**: the link's {value} is not a number, so it shows {shown}."
        ),
        "not_on_off": N_(
            "**{setting}**: the link's {value} is not on or off, so it shows {shown}."
        ),
        "not_a_choice": N_(
            "**{setting}**: the link's {value} is not one of its choices, so it shows {shown}."
        ),
        "above_cap": N_(
            "**{setting}**: the link's {value} is above {limit}, this demo's cap, so it shows "
            "{shown}."
        ),
        "above": N_("**{setting}**: the link's {value} is above {limit}, so it shows {shown}."),
        "below": N_("**{setting}**: the link's {value} is below {limit}, so it shows {shown}."),
        "off_step": N_(
            "**{setting}**: the link's {value} is not on its steps of {limit}, so it shows {shown}."
        ),
    }
)


def shown_value(setting: Setting, value: object) -> str:
    """A value as the widget shows it: an option's label, a number with its thousands."""
    if setting.format_option is not None:
        return setting.format_option(value)
    if setting.kind == "tabs":
        return _(str(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"
    return str(value)


def _parse_many(setting: Setting, raw: Sequence[str]) -> Parsed:
    """The choices named, each once; an empty value is the URL's spelling of none."""
    chosen = list(dict.fromkeys(v for v in raw if v in setting.options))
    unknown = [v for v in raw if v and v not in setting.options]
    if not unknown:
        return Parsed(tuple(chosen))
    values = join_list(_quote(v) for v in unknown[:3]) + (" …" if len(unknown) > 3 else "")
    message = _("**{setting}**: left out {values}, which it does not offer.")
    return Parsed(tuple(chosen), message.format(setting=_(setting.label), values=values))


def _parse_choice(setting: Setting, text: str) -> Parsed:
    if text in setting.options:
        return Parsed(text)
    if text in setting.url_codes:
        return Parsed(setting.options[setting.url_codes.index(text)])
    return _fallback(setting, text, PROBLEMS["not_a_choice"])


def _parse_nearest_option(setting: Setting, text: str, number: float) -> Parsed:
    """The option nearest to `number` (on a log scale: the options grow geometrically)."""
    options = [float(o) for o in setting.options]  # type: ignore[arg-type]
    if number in options:
        return Parsed(setting.options[options.index(number)])
    clipped = min(max(number, options[0]), options[-1])
    nearest = min(range(len(options)), key=lambda i: abs(math.log(clipped / options[i])))
    return _changed(setting, text, setting.options[nearest], PROBLEMS["not_a_choice"])


def _parse_range(setting: Setting, text: str, number: float) -> Parsed:
    """`number` clamped to [low, high] and, for a slider, put on its step grid."""
    low, high = float(setting.low), float(setting.high)  # type: ignore[arg-type]
    value = min(max(number, low), high)
    if setting.kind == "slider" and setting.step:
        value = min(low + round((value - low) / setting.step) * setting.step, high)
    if isinstance(setting.default, int):
        value = int(value)
    if value == number:
        return Parsed(value)
    if number > high:
        message = PROBLEMS["above_cap" if setting.capped else "above"]
    else:
        message = PROBLEMS["below" if number < low else "off_step"]
    limit = high if number > high else low if number < low else setting.step or 1
    return _changed(setting, text, value, message, limit=shown_value(setting, limit))


def _quote(text: str) -> str:
    """A URL value as a short code span: never read as Markdown or HTML, never long."""
    short = text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"
    return "`" + short.replace("`", "'").replace("\n", " ") + "`"


def _fallback(setting: Setting, text: str, message: str) -> Parsed:
    """The default, with the reason the URL's value could not be used."""
    return _changed(setting, text, setting.default, message)


def _changed(setting: Setting, text: str, value: object, message: str, **figures: str) -> Parsed:
    """`value` in place of the URL's `text`, and `message` (a catalog message) saying so."""
    words = _(message).format(
        setting=_(setting.label), value=_quote(text), shown=shown_value(setting, value), **figures
    )
    return Parsed(value, words)
