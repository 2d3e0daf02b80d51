"""The σ × depth map: the last layer's activation std over a sweep of weight scales and depths.

Weights are W ~ N(0, σ²/n): σ = 1 is LeCun's 1/√n (the book's "Xavier"), σ = √2 is He's, and
σ = 5/3 is the tanh gain PyTorch recommends. One forward pass per σ gives the std at every
depth at once: the network's own pass (`core.network.mlp.forward`, a stack of one network with
f after every layer), in float32 with float64 statistics. The weights are drawn once, at σ = 1,
and scaled for every σ in place (common random numbers: the map's columns differ by σ alone),
and each pass writes into the same buffers: a full map of 44 σ takes about half a second
(ELU, whose exp is slower, about one).

References: He et al. 2015, arXiv:1502.01852 (§2.2); Poole et al. 2016, arXiv:1606.05340
(the ordered and chaotic phases this map shows for tanh).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from core.network.activations import get_activation
from core.network.initializers import MAX_STD, MIN_STD, normal_std
from core.network.mlp import empty_cache, forward, init_mlp
from core.types import FloatArray
from core.validation import (
    MAX_LAYERS,
    MAX_MULTIPLY_ADDS,
    MAX_VALUES,
    InvalidTypeError,
    check_budget,
    check_int,
    check_real,
    check_seed,
)

MAX_SCALES = 10_000  # σ values one sweep may take (the app's default grid has 44)

# The scales worth marking on the map, as σ in W ~ N(0, σ²/n), by what they are: LeCun's
# 1/√n (the book's "Xavier"), He's √(2/n), and tanh's gain 5/3.
MARKED_SCALES: Mapping[str, float] = MappingProxyType(
    {"lecun": 1.0, "he": math.sqrt(2), "tanh_gain": 5 / 3}
)


@dataclass(frozen=True, eq=False)
class DepthSweep:
    """`stds[i, d]` is the activation std after d + 1 layers with weight scale `scales[i]`;
    inf where the values overflowed float32, so a log-scale map can show it as the maximum
    (0 where they all rounded to the same value, e.g. underflowed to 0). Never NaN."""

    activation: str
    scales: FloatArray
    depths: FloatArray
    stds: FloatArray


def depth_sweep(
    activation: str,
    *,
    scales: Sequence[float] | None = None,
    max_depth: int = 50,
    width: int = 100,
    n_samples: int = 200,
    seed: int = 0,
) -> DepthSweep:
    """Std of every layer's activations for each σ, in nets of `max_depth` square layers.

    x (n_samples, width) ~ N(0, 1); z = a @ W with W ~ N(0, σ²/width), a = f(z), zero bias.
    Default scales: 41 values from 0.25 to 4, evenly spaced on a log axis, plus the marked ones.
    Each σ lies from 1e-30 to 1e38, in the order given. The work is bounded (see
    `core.validation`): max_depth × (2 × width² + 4 × n_samples × width) values and
    σ's × max_depth × n_samples × width² multiply-adds.
    """
    act = get_activation(activation)
    check_int("max_depth", max_depth, low=1, high=MAX_LAYERS)
    check_int("width", width, low=1, high=MAX_VALUES)
    check_int("n_samples", n_samples, low=2, high=MAX_VALUES)
    check_seed(seed)
    if scales is None:
        scales = np.union1d(np.geomspace(0.25, 4.0, 41), list(MARKED_SCALES.values()))
    sigma = _checked_scales(scales)
    n_scales = len(sigma)
    check_budget(  # the weights and their draw; the pass's buffers and every layer's a
        max_depth * (2 * width * width + 4 * n_samples * width),
        MAX_VALUES,
        what="values to hold",
        formula="max_depth × (2 × width² + 4 × n_samples × width)",
        arguments="max_depth, n_samples or width",
    )
    check_budget(
        n_scales * max_depth * n_samples * width * width,
        MAX_MULTIPLY_ADDS,
        what="multiply-adds",
        formula="len(scales) × max_depth × n_samples × width²",
        arguments="scales list, max_depth, n_samples or width",
    )

    data_ss, init_ss = np.random.SeedSequence(seed).spawn(2)
    x = np.random.default_rng(data_ss).standard_normal((n_samples, width), dtype=np.float32)
    net = init_mlp(
        [np.random.default_rng(init_ss)],
        [normal_std(1 / math.sqrt(width))],  # σ = 1
        (width,) * (max_depth + 1),
        act,
        np.float32,
        linear_output=False,
    )
    drawn = net.flat.copy()  # zero bias: scaling the whole vector scales W alone
    cache = empty_cache(net, n_samples, np.float32)
    layers = np.empty((max_depth, 1, n_samples, width), dtype=np.float32)  # every layer's a
    stds = np.empty((n_scales, max_depth))
    with np.errstate(over="ignore", invalid="ignore"):
        for i, scale in enumerate(sigma):
            np.multiply(drawn, np.float32(scale), out=net.flat)
            forward(net, x, out=cache)
            np.stack(cache.a, out=layers)
            stds[i] = layers.std(axis=(1, 2, 3), dtype=np.float64)
    stds[~np.isfinite(stds)] = np.inf
    return DepthSweep(act.name, sigma, np.arange(1, max_depth + 1, dtype=float), stds)


def _checked_scales(scales: object) -> FloatArray:
    """`scales` as a float64 array of 1 to `MAX_SCALES` σ values, each from 1e-30 to 1e38."""
    if isinstance(scales, np.ndarray) and scales.ndim == 1:
        scales = scales.tolist()  # NumPy scalars become Python numbers, checked one by one
    if not isinstance(scales, Sequence) or isinstance(scales, str | bytes):
        raise InvalidTypeError(f"scales must be a non-empty list of numbers, got {scales!r}")
    if not 1 <= len(scales) <= MAX_SCALES:
        raise ValueError(
            f"scales must be a non-empty list of at most {MAX_SCALES:,} numbers, "
            f"got {len(scales):,} of them"
        )
    return np.array([check_real("each scale", s, low=MIN_STD, high=MAX_STD) for s in scales])
