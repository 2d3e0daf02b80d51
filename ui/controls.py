"""Widgets in, frozen configs out. Every control's key is also its URL query parameter.

Select boxes list registry keys, not labels: a bound widget writes its displayed option into
the URL, so listing keys is what makes `?activation=relu&init=he_normal` work. The chosen
initializer's readable label is shown under it instead.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import streamlit as st

import core
from ui.config import CUSTOM_INIT, DEFAULT_FORWARD, DEFAULT_TRAIN, ForwardConfig, TrainConfig
from ui.limits import (
    MAX_ITERATIONS,
    MAX_LAYERS,
    MAX_SAMPLES,
    MAX_SWEEP_DEPTH,
    MAX_WIDTH,
    MIN_SAMPLES,
)

BIND: Literal["query-params"] = "query-params"
MAX_SEED = 2**31 - 1
TRAIN_DEPTHS = (1, 30)  # He et al.'s Fig. 3 trains 30 layers
MAX_SEEDS = 5
TRAIN_UNITS = (25, 50, 100, 200, 300, 500)
BATCH_SIZES = (16, 32, 64, 128, 256, 512)
SWEEP_DEPTH = 50  # the σ × depth map's default depth
LEARNING_RATES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
BATCH_NORM_HELP = (
    "The book's §6.3: standardize every hidden unit's input over the batch (mean 0, variance "
    "1, then a learned scale and shift) before the activation, whatever the weights' scale."
)


@dataclass(frozen=True, slots=True)
class Preset:
    """One click to a figure: the controls it sets, and what to notice once it is drawn.

    The notes were checked against core's numbers at 100 units, 1,000 samples, seeds 0-3.
    """

    key: str  # the button's widget key
    label: str  # the button's text
    source: str  # which figure it reproduces, shown before the note
    activation: str
    init: str
    note: str
    layers: int = 5
    view: str = "Forward"


# The book's §6.2.2 figures: 5 layers of 100 units, activation histograms.
BOOK_PRESETS: tuple[Preset, ...] = (
    Preset(
        "preset_sigmoid_std_1",
        "Sigmoid · std 1",
        "The book, sigmoid with std 1",
        "sigmoid",
        "std_1",
        "the activations pile up at 0 and 1: about half of each layer sits where the sigmoid's "
        "slope is below 5 % of its maximum (the table's Saturated column), so gradients vanish "
        "there.",
    ),
    Preset(
        "preset_sigmoid_std_0.01",
        "Sigmoid · std 0.01",
        "The book, sigmoid with std 0.01",
        "sigmoid",
        "std_0.01",
        "every layer's activations crowd around 0.5 (std about 0.01): gradients still flow, but "
        "the units all output nearly the same value, so the layer has little expressive power.",
    ),
    Preset(
        "preset_sigmoid_lecun_normal",
        "Sigmoid · Xavier",
        'The book, sigmoid with "Xavier" √(1/n)',
        "sigmoid",
        "lecun_normal",
        "every layer keeps a spread of values (std 0.1-0.2, about ten times that of std 0.01), "
        "so its units differ from each other: the book's healthy picture.",
    ),
    Preset(
        "preset_relu_std_0.01",
        "ReLU · std 0.01",
        "The book, ReLU with std 0.01",
        "relu",
        "std_0.01",
        "the activations shrink about 15-fold per layer towards 0 (std about 0.06 at layer 1, "
        "10⁻⁶ at layer 5), and the weight gradients in the table are tiny too.",
    ),
    Preset(
        "preset_relu_lecun_normal",
        "ReLU · Xavier",
        'The book, ReLU with "Xavier" √(1/n)',
        "relu",
        "lecun_normal",
        "ReLU zeroes half of its inputs, so √(1/n) loses half the variance at every layer: the "
        "std falls by about √2 per layer (0.58 at layer 1, 0.15 at layer 5).",
    ),
    Preset(
        "preset_relu_he_normal",
        "ReLU · He",
        "The book, ReLU with He √(2/n)",
        "relu",
        "he_normal",
        "√(2/n) makes up for the half that ReLU zeroes: the std stays about 0.8 at every layer, "
        "and the back-propagated gradient's stays about 0.7.",
    ),
)

# The papers' figures. Glorot & Bengio's "standard" init is U(±1/√n) (`torch_default`) and
# their "normalized" one is Glorot uniform; He et al.'s Fig. 3 is a training curve, shown here
# through the forward pass that explains it.
PAPER_PRESETS: tuple[Preset, ...] = (
    Preset(
        "paper_glorot_fig6_standard",
        "Glorot Fig. 6 · standard",
        "Glorot & Bengio, Fig. 6 (top): tanh, standard init U(±1/√n)",
        "tanh",
        "torch_default",
        "the activations shrink towards 0 layer after layer (std about 0.46 at layer 1, 0.05 "
        "at layer 5), so the peak at 0 grows with depth.",
    ),
    Preset(
        "paper_glorot_fig6_normalized",
        "Glorot Fig. 6 · normalized",
        "Glorot & Bengio, Fig. 6 (bottom): tanh, normalized init",
        "tanh",
        "glorot_uniform",
        "the layers stay much more alike (std about 0.63 at layer 1, 0.32 at layer 5, against "
        "0.46 to 0.05 with the standard init).",
    ),
    Preset(
        "paper_glorot_fig7_standard",
        "Glorot Fig. 7 · gradients",
        "Glorot & Bengio, Fig. 7 (top): back-propagated gradients, tanh, standard init",
        "tanh",
        "torch_default",
        "on the way down from layer 5 to layer 1 the gradient ∂L/∂z shrinks about 12-fold (std "
        "1.0 to 0.08), while the weight gradients in the table stay about equal across layers "
        "(their Fig. 8).",
        view="Backward",
    ),
    Preset(
        "paper_he_fig3_lecun",
        "He Fig. 3 · √(1/n)",
        'He et al., Fig. 3: a 30-layer ReLU net with "Xavier" √(1/n), which stalled in training',
        "relu",
        "lecun_normal",
        "each layer halves the variance, so the std falls by √2 per layer, from about 0.58 at "
        "layer 1 to a few 10⁻⁵ at layer 30.",
        layers=30,
    ),
    Preset(
        "paper_he_fig3_he",
        "He Fig. 3 · √(2/n)",
        "He et al., Fig. 3: a 30-layer ReLU net with √(2/n), which trained",
        "relu",
        "he_normal",
        "the std stays of order 1 through all 30 layers (about 0.8 at layer 1); ReLU is "
        "scale-free, so these are √(1/n)'s activations times √2 per layer, with the same dead "
        "units.",
        layers=30,
    ),
)
PRESETS = (*BOOK_PRESETS, *PAPER_PRESETS)


def sidebar_controls() -> ForwardConfig:
    """The forward-pass experiment's controls, in the sidebar."""
    d = DEFAULT_FORWARD
    sb = st.sidebar
    sb.header("Activations: settings")
    activations = list(core.ACTIVATIONS)
    activation = sb.selectbox(
        "Activation",
        activations,
        index=activations.index(d.activation),
        key="activation",
        bind=BIND,
    )
    inits = [*core.INITIALIZERS, CUSTOM_INIT]
    init = sb.selectbox(
        "Initial weights",
        inits,
        index=inits.index(d.init),
        key="init",
        bind=BIND,
        help="`custom` draws W from a normal distribution with the std you choose.",
    )
    std = d.std
    if init == CUSTOM_INIT:
        std = sb.number_input(
            "Custom std",
            min_value=0.0001,
            max_value=10.0,
            value=d.std,
            step=0.01,
            format="%.4g",
            key="std",
            bind=BIND,
        )
    else:
        sb.caption(core.INITIALIZERS[init].label)
    layers = sb.slider("Hidden layers", 1, MAX_LAYERS, d.layers, key="layers", bind=BIND)
    width = sb.slider("Units per layer", 10, MAX_WIDTH, d.width, step=10, key="width", bind=BIND)
    samples = sb.slider(
        "Input samples",
        MIN_SAMPLES,
        MAX_SAMPLES,
        d.samples,
        step=100,
        key="samples",
        bind=BIND,
        help="Random inputs x ~ N(0, 1), one row each.",
    )
    seed = sb.number_input("Seed", 0, MAX_SEED, d.seed, key="seed", bind=BIND)
    exclude_zeros = sb.toggle(
        "Hide the spike at zero",
        value=d.exclude_zeros,
        key="nozero",
        bind=BIND,
        help="ReLU outputs exactly 0 for every negative input; hiding those zeros shows the "
        "shape of the rest. The table still counts them.",
    )
    batch_norm = sb.toggle(
        "Batch norm",
        value=d.batch_norm,
        key="bn",
        bind=BIND,
        help=BATCH_NORM_HELP,
    )
    return ForwardConfig(
        activation=activation,
        init=init,
        std=float(std),
        layers=int(layers),
        width=int(width),
        samples=int(samples),
        seed=int(seed),
        exclude_zeros=bool(exclude_zeros),
        batch_norm=bool(batch_norm),
    )


def sweep_depth_control() -> int:
    """The σ × depth map's own control: how deep its networks go.

    Its key is `maxdepth`, not `depth`: the training race's "Hidden layers" owns `depth`.
    """
    depth = st.slider(
        "Depth (layers)",
        1,
        MAX_SWEEP_DEPTH,
        SWEEP_DEPTH,
        key="maxdepth",
        bind=BIND,
        help="The map shows the activation std after every layer up to this depth.",
    )
    return int(depth)


def _apply_preset(preset: Preset) -> None:
    st.session_state["activation"] = preset.activation
    st.session_state["init"] = preset.init
    st.session_state["layers"] = preset.layers
    st.session_state["width"] = DEFAULT_FORWARD.width  # the figures' 100 units
    st.session_state["bn"] = False  # the figures are without batch norm
    st.session_state["view"] = preset.view


def preset_buttons() -> None:
    """One click to each of the book's and the papers' figures (sets the sidebar and the tab)."""
    for title, presets in (
        ("**The book's settings:**", BOOK_PRESETS),
        ("**The papers' settings:**", PAPER_PRESETS),
    ):
        _button_row(title, presets, _apply_preset)


def _button_row(
    title: str, presets: Sequence[Preset | RacePreset], apply: Callable[[Any], None]
) -> None:
    """A titled row of one button per preset; a click runs `apply(preset)` before the rerun."""
    row = st.container(horizontal=True, gap="small")
    row.markdown(title)
    for preset in presets:
        row.button(preset.label, key=preset.key, on_click=apply, args=(preset,), type="secondary")


def active_preset(cfg: ForwardConfig, view: str | None) -> Preset | None:
    """The preset whose figure is on screen (same activation, init, depth and tab, no batch
    norm), if any."""
    if cfg.batch_norm:
        return None
    for preset in PRESETS:
        shown = (cfg.activation, cfg.init, cfg.layers, view)
        if shown == (preset.activation, preset.init, preset.layers, preset.view):
            return preset
    return None


@dataclass(frozen=True, slots=True)
class RacePreset:
    """One click to a training figure: the race it sets up, and what to notice once it ran.

    The notes were checked against core's numbers on the bundled digits, seed 0."""

    key: str
    label: str
    source: str
    config: TrainConfig
    note: str


RACE_PRESETS: tuple[RacePreset, ...] = (
    RacePreset(
        "race_book",
        "The book's race",
        "The book, Fig. 6-15: ReLU, 4 layers of 100, std 0.01 vs √(1/n) vs He",
        DEFAULT_TRAIN,
        "std 0.01 never leaves ln 10 ≈ 2.30 (chance, 10 % accuracy): its signal vanishes on "
        "the way up, so no gradient reaches the weights. √(1/n) and He both learn, He faster.",
    ),
    RacePreset(
        "race_he_fig3",
        "He Fig. 3 · 30 layers",
        "He et al., Fig. 3: 30 ReLU layers of 100, √(1/n) vs He's √(2/n)",
        TrainConfig(initializers=("lecun_normal", "he_normal"), hidden=(100,) * 30),
        "√(1/n) halves the variance at each of the 30 layers, so it sits near 2.30 for most "
        "of the run; He keeps it and trains.",
    ),
    RacePreset(
        "race_batch_norm",
        "Batch norm rescues std 0.01",
        "The book, §6.3 (Fig. 6-19): the book's race with batch norm",
        replace(DEFAULT_TRAIN, batch_norm=True),
        "with batch norm every initializer learns, std 0.01 included (compare the book's race, "
        "where it stays at 2.30): each layer's input is rescaled whatever the weights' scale.",
    ),
    RacePreset(
        "race_seeds",
        "√(1/n) vs He · 3 seeds",
        "√(1/n) vs He, three draws of the weights each",
        TrainConfig(initializers=("lecun_normal", "he_normal"), seeds=3),
        "the bands (lowest to highest seed) stay apart: He's lead is not the luck of one draw.",
    ),
)


def _apply_race_preset(preset: RacePreset) -> None:
    c = preset.config
    st.session_state["race"] = list(c.initializers)
    st.session_state["tact"] = c.activation
    st.session_state["depth"] = len(c.hidden)
    st.session_state["units"] = c.hidden[0]
    st.session_state["iters"] = c.iterations
    st.session_state["batch"] = c.batch_size
    st.session_state["lr"] = c.lr
    st.session_state["opt"] = c.optimizer
    st.session_state["tseed"] = c.seed
    st.session_state["seeds"] = c.seeds
    st.session_state["tbn"] = c.batch_norm


def race_preset_buttons() -> None:
    """One click to each training figure (sets the race's controls; Train runs it)."""
    _button_row("**Races to reproduce:**", RACE_PRESETS, _apply_race_preset)


def active_race_preset(cfg: TrainConfig) -> RacePreset | None:
    """The preset the race's controls are set to, if any."""
    return next((p for p in RACE_PRESETS if p.config == cfg), None)


def training_controls() -> TrainConfig:
    """The training race's controls, in the main area next to its chart."""
    d = DEFAULT_TRAIN
    races = st.multiselect(
        "Initializers to race",
        list(core.INITIALIZERS),
        default=list(d.initializers),
        key="race",
        bind=BIND,
        help="`lecun_normal` is the book's 'Xavier' (√(1/n)); `glorot_*` is Glorot & Bengio's.",
    )
    activations = list(core.ACTIVATIONS)
    optimizers = list(core.OPTIMIZERS)
    col = st.columns(4)
    activation = col[0].selectbox(
        "Activation",
        activations,
        index=activations.index(d.activation),
        key="tact",
        bind=BIND,
    )
    depth = col[1].slider("Hidden layers", *TRAIN_DEPTHS, len(d.hidden), key="depth", bind=BIND)
    units = col[2].select_slider(
        "Units per layer", TRAIN_UNITS, value=d.hidden[0], key="units", bind=BIND
    )
    iterations = col[3].slider(
        "Iterations", 10, MAX_ITERATIONS, d.iterations, step=10, key="iters", bind=BIND
    )
    batch = col[0].select_slider(
        "Batch size", BATCH_SIZES, value=d.batch_size, key="batch", bind=BIND
    )
    lr = col[1].select_slider("Learning rate", LEARNING_RATES, value=d.lr, key="lr", bind=BIND)
    optimizer = col[2].selectbox(
        "Optimizer", optimizers, index=optimizers.index(d.optimizer), key="opt", bind=BIND
    )
    seed = col[3].number_input("Seed", 0, MAX_SEED, d.seed, key="tseed", bind=BIND)
    seeds = col[0].slider(
        "Seeds per initializer",
        1,
        MAX_SEEDS,
        d.seeds,
        key="seeds",
        bind=BIND,
        help="Train each initializer this many times, from different initial weights (the "
        "batches stay the same): the chart draws their mean over a band from the lowest to "
        "the highest.",
    )
    batch_norm = col[1].toggle(
        "Batch norm", value=d.batch_norm, key="tbn", bind=BIND, help=BATCH_NORM_HELP
    )
    return TrainConfig(
        initializers=tuple(races),
        activation=activation,
        hidden=(int(units),) * int(depth),
        iterations=int(iterations),
        batch_size=int(batch),
        lr=float(lr),
        optimizer=optimizer,
        seed=int(seed),
        seeds=int(seeds),
        batch_norm=bool(batch_norm),
    )
