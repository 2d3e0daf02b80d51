"""What the widgets produce: frozen, hashable configs and their defaults.

The configs hold plain values only, so they can be compared (is the stored training run
still the one the controls describe?) and passed to cached functions field by field.
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOM_INIT = "custom"  # the initializer choice that reads its std from its own widget
# The activations section's tab labels, also the URL's `view` values.
VIEWS = ("Forward", "Backward", "Std vs depth", "σ × depth")


@dataclass(frozen=True, slots=True)
class ForwardConfig:
    """The forward-pass experiment (book §6.2.2): random inputs through a deep net.

    `init` is a key of `core.INITIALIZERS` or `CUSTOM_INIT`, in which case `std` applies.
    """

    activation: str = "sigmoid"
    init: str = "std_1"
    std: float = 0.05
    layers: int = 5
    width: int = 100
    samples: int = 1000
    seed: int = 0
    exclude_zeros: bool = False
    batch_norm: bool = False


@dataclass(frozen=True, slots=True)
class TrainConfig:
    """The training race (book §6.2, MNIST): one network per initializer, same batches."""

    initializers: tuple[str, ...] = ("std_0.01", "lecun_normal", "he_normal")
    activation: str = "relu"
    hidden: tuple[int, ...] = (100, 100, 100, 100)
    iterations: int = 2000
    batch_size: int = 128
    lr: float = 0.01
    optimizer: str = "sgd"
    seed: int = 0
    seeds: int = 1
    batch_norm: bool = False

    def train_compare_kwargs(self) -> dict[str, object]:
        """`core.train_compare`'s keyword arguments for this race, the initializers aside."""
        return {
            "activation": self.activation,
            "hidden": self.hidden,
            "iterations": self.iterations,
            "batch_size": self.batch_size,
            "lr": self.lr,
            "optimizer": self.optimizer,
            "seed": self.seed,
            "seeds": self.seeds,
            "batch_norm": self.batch_norm,
        }


DEFAULT_FORWARD = ForwardConfig()
DEFAULT_TRAIN = TrainConfig()
