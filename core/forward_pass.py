"""The book's §6.2.2 experiment: push random data through a deep net and look at every layer.

Defaults reproduce the book: 1000 samples of 100 standard-normal inputs, 5 hidden layers of
100 units, zero bias. Computed in float32 (NumPy's exp and tanh are 4× faster there) with
float64 statistics; a layer that leaves float32's range (~3.4e38) ends the report with a label.
Histograms are binned here so that a UI never ships raw values.

Backward, as in Glorot & Bengio's Fig. 7 and 8: a standard-normal gradient ∂L/∂a is injected
at the last layer and back-propagated; each layer reports ∂L/∂z and the std of ∂L/∂W. Beside
every measured std stands the one variance propagation predicts (`core.theory`).

With batch norm (the book's §6.3), each layer's z is standardized over the samples before f
(γ = 1, β = 0, as at initialization), and the gradient flows back through that standardization.

References: Glorot & Bengio 2010 (Fig. 3, 6, 7, 8); He et al. 2015, arXiv:1502.01852 (§2.2).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from core import batchnorm
from core.activations import Activation, get_activation
from core.initializers import Initializer, get_initializer
from core.lsuv import scale_to_unit_variance
from core.theory import predicted_stds
from core.types import DEFAULT_DTYPE, FloatArray, IntArray
from core.validation import (
    MAX_BINS,
    MAX_LAYERS,
    MAX_MULTIPLY_ADDS,
    MAX_VALUES,
    InvalidTypeError,
    check_bool,
    check_budget,
    check_float_dtype,
    check_int,
    check_real_array,
    check_seed,
)

SATURATION_THRESHOLD = 0.05  # |f'(z)| below 5 % of the activation's largest slope


@dataclass(frozen=True, eq=False)
class LayerStats:
    """One hidden layer's activations a = f(z): histogram and summary statistics.

    `saturated`: fraction of values whose |f'(z)| < 5 % of max |f'|.
    `dead`: fraction of units saturated for every sample (they pass no gradient at all).
    `zero_fraction`: fraction of exact zeros (ReLU's spike), excluded from `counts` when asked.
    `grad_*`: the back-propagated gradient ∂L/∂z at this layer (zeros excluded like `counts`);
    NaN std and empty counts at and below the layer where it overflowed
    (`ForwardResult.grad_overflow_layer`). `weight_grad_std`: std of ∂L/∂W, NaN there too, and
    inf where the std itself exceeds float64's range (possible only in float64 runs).
    `predicted_std`, `predicted_grad_std`: what variance propagation says they should be (inf
    where that overflows).
    Every other number is finite, and `counts` (`grad_counts`) counts every value binned.
    """

    layer: int
    counts: IntArray
    edges: FloatArray
    mean: float
    std: float
    saturated: float
    dead: float
    zero_fraction: float
    grad_counts: IntArray
    grad_edges: FloatArray
    grad_std: float
    weight_grad_std: float
    predicted_std: float
    predicted_grad_std: float


@dataclass(frozen=True, eq=False)
class ForwardResult:
    """Per-layer statistics; `overflow_layer` is the first layer whose values left the float
    range (the layers from there on are not reported), or None; `grad_overflow_layer` is the
    same for the backward pass, counted from the top."""

    activation: Activation
    initializer: Initializer
    width: int
    batch_norm: bool
    layers: tuple[LayerStats, ...]
    overflow_layer: int | None
    grad_overflow_layer: int | None = None


def activation_histograms(
    activation: str,
    initializer: str | Initializer,
    *,
    n_layers: int = 5,
    width: int = 100,
    n_samples: int = 1000,
    bins: int = 30,
    seed: int = 0,
    exclude_zeros: bool = False,
    batch_norm: bool = False,
    dtype: npt.DTypeLike = DEFAULT_DTYPE,
) -> ForwardResult:
    """Histogram and statistics of every hidden layer's activations, with shared edges.

    x (n_samples, width) ~ N(0, 1); for each layer: z = a @ W with W (width, width) drawn by
    `initializer`, a = f(z), or f of z standardized over the samples with `batch_norm`.
    Edges are shared across layers, so they can be compared, and span the activation's output
    range where it is bounded (sigmoid: 0 to 1; tanh: -1 to 1) or the values seen where it is
    not (ReLU's upper side).

    The work is bounded (see `core.validation`): at most `MAX_LAYERS` layers, `MAX_BINS` bins,
    n_layers × (width² + 4 × n_samples × width + 4 × bins) values held, and
    n_layers × (3 × n_samples × width² + width³ for orthogonal's QR) multiply-adds.
    `dtype` is float32 or float64.
    """
    act = get_activation(activation)
    init = get_initializer(initializer)
    check_int("n_layers", n_layers, low=1, high=MAX_LAYERS)
    check_int("width", width, low=1, high=MAX_VALUES)
    check_int("n_samples", n_samples, low=1, high=MAX_VALUES)
    check_int("bins", bins, low=1, high=MAX_BINS)
    check_seed(seed)
    check_bool("exclude_zeros", exclude_zeros)
    check_bool("batch_norm", batch_norm)
    dtype = check_float_dtype(dtype)
    check_budget(  # per layer: W, then a, f'(z), ∂L/∂z (and x̂), and two histograms
        n_layers * (width * width + 4 * n_samples * width + 4 * bins),
        MAX_VALUES,
        what="values to hold",
        formula="n_layers × (width² + 4 × n_samples × width + 4 × bins)",
        arguments="n_layers, width, n_samples or bins",
    )
    qr = width**3 if init.distribution == "orthogonal" else 0  # a QR decomposition per layer
    check_budget(
        n_layers * (3 * n_samples * width * width + qr),
        MAX_MULTIPLY_ADDS,
        what="multiply-adds",
        formula="n_layers × (3 × n_samples × width²"
        + (" + width³ for orthogonal's QR)" if qr else ")"),
        arguments="n_layers, width or n_samples",
    )

    data_ss, init_ss, grad_ss = np.random.SeedSequence(seed).spawn(3)
    init_rng = np.random.default_rng(init_ss)
    x = np.random.default_rng(data_ss).standard_normal((n_samples, width), dtype=dtype)
    weights, slopes, activations, norms = [], [], [], []
    overflow_layer = None
    with np.errstate(over="ignore", invalid="ignore"):
        a = x
        for layer in range(1, n_layers + 1):
            w = init.sample(init_rng, width, width, dtype)
            if init.data_dependent:  # LSUV: rescaled on this batch, in place
                scale_to_unit_variance(a, w, layer=layer)
            z = a @ w  # (n_samples, width)
            if batch_norm:
                normalized, _, _ = batchnorm.standardize(z)
                norms.append(normalized)
                z = normalized.x_hat
            a = act.fn(z)
            if not (np.isfinite(z).all() and np.isfinite(a).all()):
                overflow_layer = layer
                break
            weights.append(w)
            slopes.append(act.grad(z))  # f'(z): read by the saturation stats and by backward
            activations.append(a)
        top_grad = np.random.default_rng(grad_ss).standard_normal(x.shape, dtype=dtype)
        inputs = [x, *activations[:-1]]  # what each layer multiplied by its W
        deltas, weight_grad_stds, grad_overflow_layer = _backward(
            inputs, weights, slopes, norms, top_grad
        )

    predicted = predicted_stds(
        act,
        init.variance(width, width),
        len(weights),
        width,
        batch_norm=batch_norm,
        unit_variance=init.data_dependent,
    )
    value_range = _shared_range(act, activations)
    grad_range = _symmetric_range(deltas)
    stats = tuple(
        LayerStats(
            layer=i + 1,
            **_value_stats(activations[i], slopes[i], act, bins, value_range, exclude_zeros),
            **_grad_stats(deltas[i], bins, grad_range, exclude_zeros),
            weight_grad_std=weight_grad_stds[i],
            predicted_std=float(predicted.activation[i]),
            predicted_grad_std=float(predicted.gradient[i]),
        )
        for i in range(len(weights))
    )
    return ForwardResult(act, init, width, batch_norm, stats, overflow_layer, grad_overflow_layer)


def _backward(
    inputs: list[FloatArray],
    weights: list[FloatArray],
    slopes: list[FloatArray],
    norms: list[batchnorm.Normalized],
    top_grad: FloatArray,
) -> tuple[list[FloatArray | None], list[float], int | None]:
    """∂L/∂z per layer (None below an overflow) and the std of ∂L/∂W, from ∂L/∂a_top.

    δ_l = g_l · f'(z_l), then back through the batch norm if there is one (`norms` is empty
    without), ∂L/∂W_l = a_{l-1}ᵀ δ_l / n_samples, g_{l-1} = δ_l W_lᵀ.
    """
    n_layers = len(slopes)
    deltas: list[FloatArray | None] = [None] * n_layers
    weight_grad_stds = [float("nan")] * n_layers
    grad = top_grad  # (n_samples, width)
    for i in range(n_layers - 1, -1, -1):
        delta = slopes[i] * grad
        if norms:
            delta, _, _ = batchnorm.batch_norm_backward(delta, norms[i])
        if not np.isfinite(delta).all():
            return deltas, weight_grad_stds, i + 1
        deltas[i] = delta
        weight_grad_stds[i] = _weight_grad_std(inputs[i], delta)
        grad = delta @ weights[i].T
    return deltas, weight_grad_stds, None


def _weight_grad_std(a: FloatArray, delta: FloatArray) -> float:
    """std of ∂L/∂W = aᵀδ / n_samples, (width, width), as a float64 number.

    The product is taken in the arrays' precision, where it may overflow although a and δ do
    not (float32: 10^20 × 10^20); then again on a / max|a| and δ / max|δ|, whose products are
    at most n_samples, with the two scales multiplied back in float64. The result is inf only
    where the std itself exceeds float64's range.
    """
    n = len(delta)
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is handled below
        weight_grad = a.T @ delta  # (width, width)
        std = float(weight_grad.std(dtype=np.float64)) / n
    if math.isfinite(std):
        return std
    a_top, delta_top = float(np.abs(a).max()), float(np.abs(delta).max())
    weight_grad = (a / a_top).T @ (delta / delta_top)  # (width, width), entries <= n
    return float(weight_grad.std(dtype=np.float64)) / n * a_top * delta_top


def _mean_std(values: FloatArray) -> tuple[float, float]:
    """Mean and std in float64, finite for any finite values: when the plain sums overflow
    (float64 values beyond 10^154), they are taken of values / max|values| and scaled back."""
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is handled below
        mean, std = float(values.mean(dtype=np.float64)), float(values.std(dtype=np.float64))
    if math.isfinite(mean) and math.isfinite(std):
        return mean, std
    top = float(np.abs(values).max())
    scaled = values / top  # |scaled| <= 1
    return float(scaled.mean(dtype=np.float64)) * top, float(scaled.std(dtype=np.float64)) * top


_FLOAT_MAX = sys.float_info.max
_EQUAL = 2.0**-20  # values closer than this, relative to their size, are drawn as one value
_TINY_SPAN = 1e-290  # spans below it leave float64's full precision when cut into bins


def _shared_range(act: Activation, values: list[FloatArray]) -> tuple[float, float]:
    """The histogram range: the activation's own where bounded, else the values seen.

    The values seen widen a declared bound they cross, so that no value is left uncounted
    (the bounds are exact for what the activations compute: `core.activations`).
    """
    seen_low = min((float(a.min()) for a in values), default=0.0)
    seen_high = max((float(a.max()) for a in values), default=1.0)
    low = seen_low if act.low is None else min(act.low, seen_low)
    high = seen_high if act.high is None else max(act.high, seen_high)
    if high - low <= max(abs(low), abs(high)) * _EQUAL or high - low < _TINY_SPAN:
        # All values equal (a zeros init), or equal but for rounding: equal-width bins that
        # narrow would share their edges, so a range around them instead, within float64.
        middle = low / 2 + high / 2
        pad = max(0.5, abs(middle) / 256)
        low, high = max(middle - pad, -_FLOAT_MAX), min(middle + pad, _FLOAT_MAX)
    return low, high


def _edges(low: float, high: float, bins: int) -> FloatArray:
    """`bins` + 1 equal-width edges from low to high, finite even where high - low is not."""
    if math.isfinite(high - low):
        return np.linspace(low, high, bins + 1)
    t = np.arange(bins + 1) / bins
    edges = low * (1 - t) + high * t  # never forms high - low
    edges[0], edges[-1] = low, high
    return edges


def uniform_histogram(
    values: FloatArray, bins: int, value_range: tuple[float, float]
) -> tuple[IntArray, FloatArray]:
    """np.histogram(values, bins, value_range) for equal-width bins, by index arithmetic and
    bincount: 10× faster than np.histogram on 10^5 values, which redraws need.

    As np.histogram, values outside the range (and NaN) are not counted; the forward pass
    always passes a range that holds every value. `value_range` is finite with low < high.
    """
    check_int("bins", bins, low=1, high=MAX_BINS)
    low, high = _check_range(value_range)
    values = check_real_array("values", values).ravel()
    # Written so that NaN (whose comparisons are all False) takes the filtering branch too.
    if not (values.min(initial=low) >= low and values.max(initial=high) <= high):
        values = values[(values >= low) & (values <= high)]  # values outside are not counted
    span = high - low
    if not math.isfinite(span):  # float64 values near its range: halve, so differences fit
        scaled = np.subtract(values * 0.5, low * 0.5, dtype=np.float64)
        scaled *= bins / (high * 0.5 - low * 0.5)
    else:
        scaled = np.subtract(values, low, dtype=np.float64)  # float64: exact for float32 inputs
        if math.isfinite(bins / span):
            scaled *= bins / span
        else:  # a subnormal span: divide first
            scaled /= span
            scaled *= bins
    index = scaled.astype(np.intp)
    np.minimum(index, bins - 1, out=index)  # the top edge's own values go in the last bin
    return np.bincount(index, minlength=bins), _edges(low, high, bins)


def _check_range(value_range: object) -> tuple[float, float]:
    """`value_range` as finite floats (low, high) with low < high."""
    message = (
        f"value_range must be two finite numbers (low, high) with low < high, got {value_range!r}"
    )
    try:
        low, high = (float(v) for v in value_range)  # type: ignore[attr-defined]
    except (TypeError, ValueError) as e:
        raise InvalidTypeError(message) from e
    if not (math.isfinite(low) and math.isfinite(high) and low < high):
        raise ValueError(message)
    return low, high


def _symmetric_range(values: list[FloatArray | None]) -> tuple[float, float]:
    """±max|value| over the layers that have values: gradients are centred on zero."""
    top = max((float(np.abs(v).max()) for v in values if v is not None), default=0.0)
    top = top if top > 0 else 1.0
    return -top, top


def _value_stats(
    a: FloatArray,
    slope: FloatArray,
    act: Activation,
    bins: int,
    value_range: tuple[float, float],
    exclude_zeros: bool,
) -> dict[str, object]:
    zeros = a == 0
    counts, edges = uniform_histogram(a[~zeros] if exclude_zeros else a, bins, value_range)
    saturated = np.abs(slope) < SATURATION_THRESHOLD * act.max_slope  # (n_samples, width)
    mean, std = _mean_std(a)
    return {
        "counts": counts,
        "edges": edges,
        "mean": mean,
        "std": std,
        "saturated": float(saturated.mean()),
        "dead": float(saturated.all(axis=0).mean()),
        "zero_fraction": float(zeros.mean()),
    }


def _grad_stats(
    delta: FloatArray | None, bins: int, grad_range: tuple[float, float], exclude_zeros: bool
) -> dict[str, object]:
    if delta is None:  # below a backward overflow
        return {
            "grad_counts": np.zeros(bins, dtype=np.intp),
            "grad_edges": _edges(*grad_range, bins),
            "grad_std": float("nan"),
        }
    binned = delta[delta != 0] if exclude_zeros else delta
    counts, edges = uniform_histogram(binned, bins, grad_range)
    return {
        "grad_counts": counts,
        "grad_edges": edges,
        "grad_std": _mean_std(delta)[1],
    }
