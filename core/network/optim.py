"""SGD, Momentum and Adam: each a state object whose `step` updates parameters in place.

In place, not pure: the training loop runs thousands of tiny steps, and a fresh copy of every
parameter per step would cost more than the update itself.

Reference: Kingma & Ba 2014, arXiv:1412.6980 (Adam); the book's `common/optimizer.py`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Protocol

import numpy as np

from core.types import FloatArray
from core.validation import check_choice, check_positive


class Optimizer(Protocol):
    """`state()` is what it carries from one step to the next, arrays shaped like the
    parameters (`CARRIED` of them per parameter array); `resume` takes such arrays, in place,
    with the number of steps taken: a network that moves to another worker mid-race takes its
    optimizer's state along."""

    CARRIED: ClassVar[int]

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None: ...

    def state(self) -> list[FloatArray]: ...

    def resume(self, state: Sequence[FloatArray], steps: int) -> None: ...


@dataclass(eq=False)
class SGD:
    """W ← W − lr·dW."""

    lr: float
    CARRIED: ClassVar[int] = 0

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        for p, g in zip(params, grads, strict=True):
            g *= self.lr  # the gradient is not needed after the step: scale it in place
            p -= g

    def state(self) -> list[FloatArray]:
        return []

    def resume(self, state: Sequence[FloatArray], steps: int) -> None:
        pass


@dataclass(eq=False)
class Momentum:
    """v ← μ·v − lr·dW;  W ← W + v."""

    lr: float
    momentum: float = 0.9
    velocity: list[FloatArray] = field(default_factory=list)
    CARRIED: ClassVar[int] = 1

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        if not self.velocity:
            self.velocity = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self.velocity, strict=True):
            v *= self.momentum
            g *= self.lr
            v -= g
            p += v

    def state(self) -> list[FloatArray]:
        return list(self.velocity)

    def resume(self, state: Sequence[FloatArray], steps: int) -> None:
        self.velocity = list(state)


@dataclass(eq=False)
class Adam:
    """m ← β1·m + (1−β1)·dW;  v ← β2·v + (1−β2)·dW²;  W ← W − lr_t·m / (√v + ε),
    with the bias correction folded into lr_t = lr·√(1−β2ᵗ)/(1−β1ᵗ)."""

    lr: float
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-7
    t: int = 0
    m: list[FloatArray] = field(default_factory=list)
    v: list[FloatArray] = field(default_factory=list)
    CARRIED: ClassVar[int] = 2

    def step(self, params: Sequence[FloatArray], grads: Sequence[FloatArray]) -> None:
        if not self.m:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t += 1
        correction = math.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for p, g, m, v in zip(params, grads, self.m, self.v, strict=True):
            m += (1 - self.beta1) * (g - m)
            v += (1 - self.beta2) * (g * g - v)
            p -= (self.lr * correction) * m / (np.sqrt(v) + self.eps)

    def state(self) -> list[FloatArray]:
        return [*self.m, *self.v]

    def resume(self, state: Sequence[FloatArray], steps: int) -> None:
        half = len(state) // 2
        self.m, self.v, self.t = list(state[:half]), list(state[half:]), steps


OPTIMIZERS: Mapping[str, Callable[..., Optimizer]] = MappingProxyType(
    {"sgd": SGD, "momentum": Momentum, "adam": Adam}
)


def make_optimizer(name: str, lr: float) -> Optimizer:
    """The optimizer `name` with learning rate `lr`; a `ValueError` lists the valid names."""
    return OPTIMIZERS[check_choice("optimizer", name, OPTIMIZERS)](check_positive("lr", lr))
