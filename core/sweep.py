"""The σ × depth map: the last layer's activation std over a sweep of weight scales and depths.

Weights are W ~ N(0, σ²/n): σ = 1 is LeCun's 1/√n (the book's "Xavier"), σ = √2 is He's, and
σ = 5/3 is the tanh gain PyTorch recommends. One forward pass per σ gives the std at every
depth at once, and all σ run as one batched product per layer (float32, float64 statistics), so a
full map takes well under a second.

References: He et al. 2015, arXiv:1502.01852 (§2.2); Poole et al. 2016, arXiv:1606.05340
(the ordered and chaotic phases this map shows for tanh).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from core.activations import get_activation
from core.types import FloatArray
from core.validation import check_int, check_positive

# The scales worth marking on the map, as σ in W ~ N(0, σ²/n).
MARKED_SCALES: Mapping[str, float] = MappingProxyType(
    {"1/√n (LeCun, the book's Xavier)": 1.0, "√(2/n) (He)": math.sqrt(2), "(5/3)/√n": 5 / 3}
)


@dataclass(frozen=True, eq=False)
class DepthSweep:
    """`stds[i, d]` is the activation std after d + 1 layers with weight scale `scales[i]`;
    inf where the values overflowed float64, so a log-scale map can show it as the maximum."""

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
    """
    act = get_activation(activation)
    check_int("max_depth", max_depth, low=1)
    check_int("width", width, low=1)
    check_int("n_samples", n_samples, low=2)
    check_int("seed", seed, low=0)
    if scales is None:
        scales = np.union1d(np.geomspace(0.25, 4.0, 41), list(MARKED_SCALES.values()))
    sigma = np.asarray(scales, dtype=float)
    if sigma.ndim != 1 or sigma.size == 0:
        raise ValueError(f"scales must be a non-empty list of numbers, got {scales!r}")
    for s in sigma:
        check_positive("each scale", float(s))

    data_ss, init_ss = np.random.SeedSequence(seed).spawn(2)
    init_rng = np.random.default_rng(init_ss)
    a = np.random.default_rng(data_ss).standard_normal((n_samples, width), dtype=np.float32)
    weight_scale = (sigma / math.sqrt(width)).astype(np.float32)[:, None, None]  # (S, 1, 1)
    stds = np.empty((len(sigma), max_depth))
    with np.errstate(over="ignore", invalid="ignore"):
        for depth in range(max_depth):
            # The same standard-normal draws for every σ (common random numbers), scaled.
            w = init_rng.standard_normal((width, width), dtype=np.float32)
            z = np.matmul(a, w)  # (n, w) for the shared input, then (S, n, w)
            z = z * weight_scale if depth == 0 else np.multiply(z, weight_scale, out=z)
            a = act.fn(z)
            stds[:, depth] = a.std(axis=(1, 2), dtype=np.float64)
    stds[~np.isfinite(stds)] = np.inf
    return DepthSweep(act.name, sigma, np.arange(1, max_depth + 1, dtype=float), stds)
