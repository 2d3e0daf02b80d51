"""Variance propagation: the std every layer *should* have, to draw beside the measured one.

Forward (mean-field, zero bias, wide layers): with q_l = Var(z_l),
    q_1 = n · Var(W) · E[x²],    q_l = n · Var(W) · E_{z ~ N(0, q_{l-1})}[f(z)²],
and the activation's std is √Var_{z ~ N(0, q_l)}[f(z)]. For ReLU, E[f(z)²] = q/2, which is why
He's Var(W) = 2/n keeps q constant and √(1/n) halves it at every layer.
Backward, with g_l = ∂L/∂a_l and δ_l = ∂L/∂z_l = g_l · f'(z_l):
    Var(δ_l) = Var(g_l) · E[f'(z_l)²],    Var(g_{l-1}) = n · Var(W) · Var(δ_l).
With batch norm, f's input is standardized to variance 1 at every layer whatever q_l, which
is then each unit's variance over the batch, n · Var(W) · Var(a) (the mean is subtracted), and
the gradient through it is divided by √(q_l + EPS) (its mean and variance terms remove two of
the batch's directions, negligible for 1,000 samples); so the scale of W no longer matters.
With LSUV every layer's W is rescaled until E[z_l²] = 1 on the batch, so n · Var(W_l) is
1 / E[a_{l-1}²] instead of a fixed value, and q_l = 1 at every layer.

References: Glorot & Bengio 2010 (§4.2); He et al. 2015, arXiv:1502.01852 (§2.2);
Poole et al. 2016, arXiv:1606.05340 (the mean-field recursion); Mishkin & Matas 2016,
arXiv:1511.06422 (LSUV).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.network.activations import Activation, get_activation
from core.network.batchnorm import EPS
from core.network.initializers import MAX_STD
from core.types import FloatArray
from core.validation import MAX_LAYERS, MAX_VALUES, check_bool, check_int, check_real

# Expectations over N(0, q) as sums over a fine grid of z = √q·t, t in [-12, 12]: a kink
# (ReLU at 0) costs Gauss-Hermite its accuracy, a plain grid keeps ~1e-6.
_T = np.linspace(-12.0, 12.0, 8001)
_PHI = np.exp(-0.5 * _T**2) * (_T[1] - _T[0]) / math.sqrt(2 * math.pi)
# Variances are capped here so that an exploding net's expectations stay defined (a ReLU's
# slope is still 0 or 1 at z ~ 1e150); what they feed then overflows to inf, as it should.
_MAX_VARIANCE = 1e300


@dataclass(frozen=True, eq=False)
class PredictedStds:
    """Per hidden layer (index 0 is layer 1): the predicted std of a_l and of ∂L/∂z_l."""

    activation: FloatArray
    gradient: FloatArray


def gaussian_mean(fn, variance: float) -> float:  # type: ignore[no-untyped-def]
    """E[fn(z)] for z ~ N(0, variance), variance from 0 to 1e300."""
    variance = check_real("variance", variance, low=0, high=_MAX_VARIANCE)
    return float(np.sum(fn(math.sqrt(variance) * _T) * _PHI))


def predicted_stds(
    activation: Activation | str,
    weight_variance: float,
    n_layers: int,
    width: int,
    input_second_moment: float = 1.0,
    *,
    batch_norm: bool = False,
    unit_variance: bool = False,
) -> PredictedStds:
    """Variance propagation through `n_layers` square layers of `width` units, zero bias,
    each hidden layer batch-normalized if `batch_norm`. With `unit_variance` (LSUV) every
    layer's weights are scaled so that E[z²] = 1, and `weight_variance` is not used.

    The backward recursion starts from a unit-variance gradient at the last layer's output,
    as the forward experiment injects one. Values that overflow come out as inf, never NaN.
    `activation` is an `Activation` or its registry name; `weight_variance` is from 0 to 1e30
    (what an initializer can declare: std <= 1e38), which keeps n · Var(W) finite and so the
    recursion free of inf · 0; `input_second_moment` is finite and >= 0; `n_layers` may be 0.
    """
    act = activation if isinstance(activation, Activation) else get_activation(activation)
    weight_variance = check_real("weight_variance", weight_variance, low=0, high=MAX_STD**2)
    check_int("n_layers", n_layers, low=0, high=MAX_LAYERS)
    check_int("width", width, low=1, high=MAX_VALUES)
    input_second_moment = check_real("input_second_moment", input_second_moment, low=0)
    check_bool("batch_norm", batch_norm)
    check_bool("unit_variance", unit_variance)
    if unit_variance:
        gain = _unit_variance_gain(input_second_moment, layer=1)
    else:
        gain = width * weight_variance  # n · Var(W)
    with np.errstate(over="ignore", invalid="ignore"):
        forward = _forward(act, gain, input_second_moment, n_layers, batch_norm, unit_variance)
        pre_variances, f_input_variances, gains, act_stds = forward
        grad_var, grad_stds = 1.0, []
        # E[f'(z)²] of every layer at once: one evaluation of f' on (n_layers, grid).
        slopes = _gaussian_means(lambda z: act.grad(z) ** 2, f_input_variances[::-1])
        for q, slope, gain in zip(pre_variances[::-1], slopes, gains[::-1], strict=True):
            grad_var *= float(slope)
            if batch_norm:
                grad_var /= q + EPS
            grad_stds.append(math.sqrt(grad_var))  # Var(δ_l)
            grad_var *= gain  # Var(g_{l-1})
    return PredictedStds(np.array(act_stds), np.array(grad_stds[::-1]))


def _forward(
    act: Activation,
    gain: float,
    input_second_moment: float,
    n_layers: int,
    batch_norm: bool,
    unit_variance: bool,
) -> tuple[list[float], list[float], list[float], list[float]]:
    """Per layer: Var(z), the variance of f's input, n · Var(W) and the std of a."""
    q = min(gain * input_second_moment, _MAX_VARIANCE)
    pre_variances, f_input_variances, gains, act_stds = [], [], [], []
    moments = {}  # by the variance of f's input: batch norm's is 1 at every layer
    for _ in range(n_layers):
        gains.append(gain)
        pre_variances.append(q)
        q_f = 1.0 if batch_norm else q  # the variance of f's input
        f_input_variances.append(q_f)
        if q_f not in moments:  # E[f(z)] and E[f(z)²], from one evaluation of f
            f = act.fn(math.sqrt(q_f) * _T)
            moments[q_f] = float(np.sum(f * _PHI)), float(np.sum(f**2 * _PHI))
        mean, second = moments[q_f]
        variance = max(second - mean**2, 0.0)
        act_stds.append(math.sqrt(variance))
        if unit_variance:  # the next W is scaled so that E[z²] = n·Var(W)·E[a²] = 1
            gain = _unit_variance_gain(second, layer=len(pre_variances) + 1)
        # Batch norm sees each unit's variance over the batch: the mean of a is removed.
        q = min(gain * (variance if batch_norm else second), _MAX_VARIANCE)
    return pre_variances, f_input_variances, gains, act_stds


def _gaussian_means(fn, variances: list[float]) -> FloatArray:  # type: ignore[no-untyped-def]
    """E[fn(z)] for z ~ N(0, v), for every v of `variances` at once."""
    z = np.sqrt(np.array(variances))[:, np.newaxis] * _T  # (len(variances), grid)
    return np.sum(fn(z) * _PHI, axis=1)


def _unit_variance_gain(second_moment: float, *, layer: int) -> float:
    """n · Var(W) that LSUV gives a layer whose input has E[a²] = `second_moment`: 1 / E[a²].

    A zero input (E[a²] = 0) has no scale that brings its output to variance 1, as LSUV itself
    refuses (`core.network.lsuv`), so the prediction is refused too rather than made inf or NaN.
    """
    if second_moment == 0:
        raise ValueError(
            f"no unit-variance prediction for layer {layer}: its input is zero (E[a²] = 0), so "
            "no scale of its weights gives variance 1"
        )
    return min(1 / second_moment, _MAX_VARIANCE)
