"""One click to a figure: the presets of the book's and the papers' experiments.

A preset is a set of values for rows of the settings table (`ui.settings`): applying it
writes them into session state, and a preset is on screen when every one of them holds.
Each carries what to notice once its figure is drawn; the tests check every note against
core's numbers (the forward figures at 100 units and 1,000 samples, seeds 0-3; the races on
the bundled digits, seed 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace

import streamlit as st

from ui.config import DEFAULT_FORWARD, DEFAULT_TRAIN, TrainConfig
from ui.i18n import N_, _
from ui.settings import BY_KEY, FWD, RACE_BY_NAME, VIEWS
from ui.url_state import same_value


@dataclass(frozen=True, slots=True)
class Preset:
    """A forward figure: the sidebar's activation, init and depth, and the open tab (at the
    figures' 100 units, without batch norm)."""

    key: str  # the button's widget key
    label: str  # the button's text
    source: str  # which figure it reproduces, shown before the note
    activation: str
    init: str
    note: str
    layers: int = 5
    view: str = VIEWS[0]

    @property
    def values(self) -> dict[str, object]:
        """{setting key: value} that this preset sets."""
        return {
            FWD["activation"].key: self.activation,
            FWD["init"].key: self.init,
            FWD["layers"].key: self.layers,
            FWD["width"].key: DEFAULT_FORWARD.width,
            FWD["batch_norm"].key: False,
            FWD["view"].key: self.view,
        }


@dataclass(frozen=True, slots=True)
class RacePreset:
    """A training figure: the whole race it sets up (Train then runs it), and what to notice
    in the views inside the race, by view ("ratio", "layers", "heat")."""

    key: str
    label: str
    source: str
    config: TrainConfig
    note: str
    inside: tuple[tuple[str, str], ...] = ()

    @property
    def values(self) -> dict[str, object]:
        return {RACE_BY_NAME[f.name].key: getattr(self.config, f.name) for f in fields(self.config)}


# The book's §6.2.2 figures: 5 layers of 100 units, activation histograms.
BOOK_PRESETS: tuple[Preset, ...] = (
    Preset(
        "preset_sigmoid_std_1",
        N_("Sigmoid · std 1"),
        N_("The book, sigmoid with std 1"),
        "sigmoid",
        "std_1",
        N_(
            "the activations pile up at 0 and 1: about half of each layer sits where the sigmoid's "
            "slope is below 5 percent of its maximum (the table's Saturated column), so gradients "
            "vanish "
            "there."
        ),
    ),
    Preset(
        "preset_sigmoid_std_0.01",
        N_("Sigmoid · std 0.01"),
        N_("The book, sigmoid with std 0.01"),
        "sigmoid",
        "std_0.01",
        N_(
            "every layer's activations crowd around 0.5 (std about 0.01): gradients still flow, "
            "but the units all output nearly the same value, so the layer has little expressive "
            "power."
        ),
    ),
    Preset(
        "preset_sigmoid_lecun_normal",
        N_("Sigmoid · Xavier"),
        N_('The book, sigmoid with "Xavier" √(1/n)'),
        "sigmoid",
        "lecun_normal",
        N_(
            "every layer keeps a spread of values (std 0.1-0.2, about ten times that of std 0.01), "
            "so its units differ from each other: the book's healthy picture."
        ),
    ),
    Preset(
        "preset_relu_std_0.01",
        N_("ReLU · std 0.01"),
        N_("The book, ReLU with std 0.01"),
        "relu",
        "std_0.01",
        N_(
            "the activations shrink about 15-fold per layer towards 0 (std about 0.06 at layer 1, "
            "10⁻⁶ at layer 5), and the weight gradients in the table are tiny too."
        ),
    ),
    Preset(
        "preset_relu_lecun_normal",
        N_("ReLU · Xavier"),
        N_('The book, ReLU with "Xavier" √(1/n)'),
        "relu",
        "lecun_normal",
        N_(
            "ReLU zeroes half of its inputs, so √(1/n) loses half the variance at every layer: the "
            "std is divided by about √2 at each layer (0.58 at layer 1, 0.15 at layer 5)."
        ),
    ),
    Preset(
        "preset_relu_he_normal",
        N_("ReLU · He"),
        N_("The book, ReLU with He √(2/n)"),
        "relu",
        "he_normal",
        N_(
            "√(2/n) makes up for the half that ReLU zeroes: the std stays about 0.8 at every "
            "layer, and the back-propagated gradient's stays about 0.7."
        ),
    ),
)

# The papers' figures. Glorot & Bengio's "standard" init is U(±1/√n) (`torch_default`) and
# their "normalized" one is Glorot uniform; He et al.'s Fig. 3 is a training curve, shown here
# through the forward pass that explains it.
PAPER_PRESETS: tuple[Preset, ...] = (
    Preset(
        "paper_glorot_fig6_standard",
        N_("Glorot Fig. 6 · standard"),
        N_("Glorot & Bengio, Fig. 6 (top): tanh, standard init U(±1/√n)"),
        "tanh",
        "torch_default",
        N_(
            "the activations shrink towards 0 layer after layer (std about 0.46 at layer 1, 0.05 "
            "at layer 5), so the peak at 0 grows with depth."
        ),
    ),
    Preset(
        "paper_glorot_fig6_normalized",
        N_("Glorot Fig. 6 · normalized"),
        N_("Glorot & Bengio, Fig. 6 (bottom): tanh, normalized init"),
        "tanh",
        "glorot_uniform",
        N_(
            "the layers stay much more alike (std about 0.63 at layer 1, 0.32 at layer 5, against "
            "0.46 to 0.05 with the standard init)."
        ),
    ),
    Preset(
        "paper_glorot_fig7_standard",
        N_("Glorot Fig. 7 · gradients"),
        N_("Glorot & Bengio, Fig. 7 (top): back-propagated gradients, tanh, standard init"),
        "tanh",
        "torch_default",
        N_(
            "on the way down from layer 5 to layer 1 the gradient ∂L/∂z shrinks about 12-fold (std "
            "1.0 to 0.08), while the weight gradients in the table stay about equal across layers "
            "(their Fig. 8)."
        ),
        view="Backward",
    ),
    Preset(
        "paper_he_fig3_lecun",
        N_("He Fig. 3 · √(1/n)"),
        N_(
            'He et al., Fig. 3: a 30-layer ReLU net with "Xavier" √(1/n), which stalled in training'
        ),
        "relu",
        "lecun_normal",
        N_(
            "each layer halves the variance, so the std is divided by √2 at each layer, from about "
            "0.58 at layer 1 to a few 10⁻⁵ at layer 30."
        ),
        layers=30,
    ),
    Preset(
        "paper_he_fig3_he",
        N_("He Fig. 3 · √(2/n)"),
        N_("He et al., Fig. 3: a 30-layer ReLU net with √(2/n), which trained"),
        "relu",
        "he_normal",
        N_(
            "the std stays of order 1 through all 30 layers (about 0.8 at layer 1); ReLU is "
            "scale-free, so these are √(1/n)'s activations times √2 per layer, with the same dead "
            "units."
        ),
        layers=30,
    ),
)
PRESETS = (*BOOK_PRESETS, *PAPER_PRESETS)


RACE_PRESETS: tuple[RacePreset, ...] = (
    RacePreset(
        "race_book",
        N_("The book's race"),
        N_("The book, Fig. 6-15: ReLU, 4 layers of 100, std 0.01 vs √(1/n) vs He"),
        DEFAULT_TRAIN,
        N_(
            "std 0.01 never leaves ln 10 ≈ 2.30 (chance, 10 % accuracy): its signal vanishes on "
            "the way up, so no gradient reaches the weights. √(1/n) and He both learn, He faster."
        ),
        inside=(
            (
                "ratio",
                N_(
                    "std 0.01's weights barely move: their update:data ratio stays below 10⁻⁵, "
                    "while He's stays between 10⁻⁴ and 10⁻² (around the 10⁻³ of the rule of "
                    "thumb)."
                ),
            ),
            (
                "layers",
                N_(
                    "std 0.01's activations shrink layer after layer: the std of its layer 4 "
                    "stays below 10⁻³ for the whole race, while He's keep their spread."
                ),
            ),
            (
                "heat",
                N_(
                    "in std 0.01's last layer every value sits in the bin at 0 from the first "
                    "step to the last: the colourful dimension shows nothing but a line."
                ),
            ),
        ),
    ),
    RacePreset(
        "race_dying_relu",
        N_("Dying ReLU"),
        N_("ReLU with He's init and Adam at a learning rate of 0.03, too large for it"),
        replace(DEFAULT_TRAIN, initializers=("he_normal",), optimizer="adam", lr=0.03),
        N_(
            "the loss still falls, but inside the network most ReLU units have died: their "
            "input is negative for every digit, so they output 0 and pass no gradient."
        ),
        inside=(
            (
                "layers",
                N_(
                    "Choose *dead units*: within the first 100 steps most of layer 1's units "
                    "and about half of the others die, and they never come back."
                ),
            ),
        ),
    ),
    RacePreset(
        "race_he_fig3",
        N_("He Fig. 3 · 30 layers"),
        N_("He et al., Fig. 3: 30 ReLU layers of 100, √(1/n) vs He's √(2/n)"),
        replace(DEFAULT_TRAIN, initializers=("lecun_normal", "he_normal"), layers=30),
        N_(
            "√(1/n) halves the variance at each of the 30 layers, so the loss sits near 2.30 for "
            "most of the run; He keeps the variance and trains."
        ),
    ),
    RacePreset(
        "race_batch_norm",
        N_("Batch norm rescues std 0.01"),
        N_("The book, §6.3 (Fig. 6-19): the book's race with batch norm"),
        replace(DEFAULT_TRAIN, batch_norm=True),
        N_(
            "with batch norm every initializer learns, std 0.01 included (compare the book's race, "
            "where it stays at 2.30): each layer's input is rescaled whatever the weights' scale."
        ),
    ),
    RacePreset(
        "race_seeds",
        N_("√(1/n) vs He · 3 seeds"),
        N_("√(1/n) vs He, three draws of the weights each"),
        replace(DEFAULT_TRAIN, initializers=("lecun_normal", "he_normal"), seeds=3),
        N_("the bands (lowest to highest seed) stay apart: He's lead is not the luck of one draw."),
    ),
)


def apply(preset: Preset | RacePreset) -> None:
    """Write the preset's values into session state (a button's callback, before the rerun)."""
    for key, value in preset.values.items():
        st.session_state[key] = list(value) if isinstance(value, tuple) else value


def active(
    presets: Sequence[Preset | RacePreset], state: Mapping[str, object]
) -> Preset | RacePreset | None:
    """The first preset whose every value holds in `state`, if any."""
    for preset in presets:
        if all(
            key in state and same_value(BY_KEY[key], state[key], value)
            for key, value in preset.values.items()
        ):
            return preset
    return None


def inside_notes(config: TrainConfig) -> dict[str, str]:
    """What to notice in the views inside a race run with `config`, by view, translated:
    the notes of the race preset it is, if it is one."""
    preset = next((p for p in RACE_PRESETS if p.config == config), None)
    return {view: _(note) for view, note in preset.inside} if preset else {}
