"""Widgets in, frozen configs out. Every control's key is also its URL query parameter.

Select boxes list registry keys, not labels: a bound widget writes its displayed option into
the URL, so listing keys is what makes `?activation=relu&init=he_normal` work. The chosen
initializer's readable label is shown under it instead.
"""

from __future__ import annotations

from typing import Literal

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
TRAIN_DEPTHS = (1, 10)
TRAIN_UNITS = (25, 50, 100, 200, 300, 500)
BATCH_SIZES = (16, 32, 64, 128, 256, 512)
SWEEP_DEPTH = 50  # the σ × depth map's default depth
LEARNING_RATES = (0.0001, 0.0003, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)

# The book's §6.2.2 figures: (button text, activation, initializer).
BOOK_PRESETS: tuple[tuple[str, str, str], ...] = (
    ("Sigmoid · std 1", "sigmoid", "std_1"),
    ("Sigmoid · std 0.01", "sigmoid", "std_0.01"),
    ("Sigmoid · Xavier", "sigmoid", "lecun_normal"),
    ("ReLU · std 0.01", "relu", "std_0.01"),
    ("ReLU · Xavier", "relu", "lecun_normal"),
    ("ReLU · He", "relu", "he_normal"),
)


def _index(options: list[str], value: str) -> int:
    return options.index(value)


def sidebar_controls() -> ForwardConfig:
    """The forward-pass experiment's controls, in the sidebar."""
    d = DEFAULT_FORWARD
    sb = st.sidebar
    sb.header("Activations: settings")
    activations = list(core.ACTIVATIONS)
    activation = sb.selectbox(
        "Activation",
        activations,
        index=_index(activations, d.activation),
        key="activation",
        bind=BIND,
    )
    inits = [*core.INITIALIZERS, CUSTOM_INIT]
    init = sb.selectbox(
        "Initial weights",
        inits,
        index=_index(inits, d.init),
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
    return ForwardConfig(
        activation=activation,
        init=init,
        std=float(std),
        layers=int(layers),
        width=int(width),
        samples=int(samples),
        seed=int(seed),
        exclude_zeros=bool(exclude_zeros),
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


def _apply_preset(activation: str, init: str) -> None:
    st.session_state["activation"] = activation
    st.session_state["init"] = init


def preset_buttons() -> None:
    """One click to each of the book's activation figures (sets the sidebar controls)."""
    row = st.container(horizontal=True, gap="small")
    row.markdown("**The book's settings:**")
    for text, activation, init in BOOK_PRESETS:
        row.button(
            text,
            key=f"preset_{activation}_{init}",
            on_click=_apply_preset,
            args=(activation, init),
            type="secondary",
        )


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
        index=_index(activations, d.activation),
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
        "Optimizer", optimizers, index=_index(optimizers, d.optimizer), key="opt", bind=BIND
    )
    seed = col[3].number_input("Seed", 0, MAX_SEED, d.seed, key="tseed", bind=BIND)
    return TrainConfig(
        initializers=tuple(races),
        activation=activation,
        hidden=(int(units),) * int(depth),
        iterations=int(iterations),
        batch_size=int(batch),
        lr=float(lr),
        optimizer=optimizer,
        seed=int(seed),
    )
