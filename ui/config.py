"""What the widgets produce: frozen, hashable configs, built from the settings table.

The configs hold plain values only, so they can be compared (is the stored training run
still the one the controls describe?) and passed whole to cached functions, which Streamlit
hashes field by field. Their fields are the names of the table's settings (`ui.settings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields

import core
from ui.settings import CUSTOM_INIT, FORWARD, RACE, defaults


@dataclass(frozen=True, slots=True)
class ForwardConfig:
    """The forward-pass experiment (book §6.2.2): random inputs through a deep net.

    `init` is a key of `core.INITIALIZERS` or `CUSTOM_INIT`, in which case `std` applies.
    """

    activation: str
    init: str
    std: float
    layers: int
    width: int
    samples: int
    seed: int
    exclude_zeros: bool
    batch_norm: bool

    @property
    def initializer(self) -> core.Initializer:
        """The registry entry `init`, or a normal with the custom `std`."""
        if self.init == CUSTOM_INIT:
            return core.normal_std(self.std)
        return core.get_initializer(self.init)


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """The training race (book §6.2, MNIST): one network per initializer, same batches."""

    initializers: tuple[str, ...]
    activation: str
    layers: int
    units: int
    iterations: int
    batch_size: int
    lr: float
    optimizer: str
    seed: int
    seeds: int
    batch_norm: bool

    @property
    def hidden(self) -> tuple[int, ...]:
        """The hidden layers' widths: `layers` layers of `units` each."""
        return (self.units,) * self.layers

    def train_compare_kwargs(self) -> dict[str, object]:
        """`core.train_compare`'s keyword arguments: every field, with the depth and width
        given as the `hidden` widths core takes."""
        kwargs = {f.name: getattr(self, f.name) for f in fields(self)}
        del kwargs["layers"], kwargs["units"]
        return {**kwargs, "initializers": list(self.initializers), "hidden": self.hidden}


def forward_config(values: Mapping[str, object]) -> ForwardConfig:
    """The config of the forward settings' `values` ({name: value}); a std that the chosen
    initializer ignores is set to its default, so it never splits the cache."""
    config = _build(ForwardConfig, values)
    if config.init != CUSTOM_INIT:
        return _build(ForwardConfig, {**values, "std": DEFAULT_FORWARD_VALUES["std"]})
    return config


def train_config(values: Mapping[str, object]) -> TrainConfig:
    """The config of the race settings' `values` ({name: value})."""
    return _build(TrainConfig, values)


def _build(cls: type, values: Mapping[str, object]):  # type: ignore[no-untyped-def]
    """`cls` from the fields it has among `values`; lists become tuples (hashable)."""
    kwargs = {}
    for f in fields(cls):
        value = values[f.name]
        kwargs[f.name] = tuple(value) if isinstance(value, list | tuple) else value
    return cls(**kwargs)


DEFAULT_FORWARD_VALUES = defaults(FORWARD)
DEFAULT_FORWARD = _build(ForwardConfig, DEFAULT_FORWARD_VALUES)
DEFAULT_TRAIN = train_config(defaults(RACE))
