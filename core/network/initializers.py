"""Weight initializers: the `Initializer` spec, `variance_scaling` and the `INITIALIZERS` registry.

Every scaled scheme is one call to `variance_scaling(scale, mode, distribution)`, as in JAX:
Var(W) = scale / n, with n = fan_in, fan_out or their mean. Glorot is (1, fan_avg),
LeCun (1, fan_in), He (2, fan_in), PyTorch's Linear default (1/3, fan_in, uniform).

References: LeCun et al. 1998, "Efficient BackProp"; Glorot & Bengio 2010;
He et al. 2015, arXiv:1502.01852; Saxe et al. 2013, arXiv:1312.6120 (orthogonal);
Mishkin & Matas 2016, arXiv:1511.06422 (LSUV, data-dependent: see `core.network.lsuv`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

from core import validation
from core.types import DEFAULT_DTYPE, FloatArray, by_name

Mode = Literal["fixed", "fan_in", "fan_out", "fan_avg"]
Distribution = Literal["normal", "truncated_normal", "uniform", "orthogonal", "constant"]

# Std of a standard normal truncated to ±2: dividing by it restores the declared variance.
TRUNCATED_NORMAL_STD = 0.87962566103423978
# The weight stds (and |constant values|) accepted: about float32's range, whose largest value
# is 3.4e38 and whose full precision ends at 1.2e-38. At std 1e38 a float32 draw beyond 3.4σ
# is inf, the float's own mark of an overflow, which the experiments report as such.
MIN_STD = 1e-30
MAX_STD = 1e38


@dataclass(frozen=True, slots=True)
class Initializer:
    """A weight distribution with Var(W_ij) = scale / n(mode), where n("fixed") = 1.

    `value` is only read by the constant distribution (W_ij = value, variance 0).
    `torch` and `keras` are the framework calls that draw the same distribution for a weight
    used as z = x @ W (PyTorch stores it transposed); "" when there is none.
    `data_dependent`: the draw is only a start, each layer is then rescaled on a batch of data
    (LSUV, `core.network.lsuv`); `sample` and `variance` describe the draw before that rescaling.
    """

    name: str
    label: str
    formula: str
    scale: float
    mode: Mode
    distribution: Distribution
    value: float = 0.0
    torch: str = ""
    keras: str = ""
    data_dependent: bool = False

    def __post_init__(self) -> None:
        for field in ("name", "label", "formula", "torch", "keras"):
            if not isinstance(getattr(self, field), str):
                raise validation.InvalidTypeError(
                    f"{field} must be a string, got {getattr(self, field)!r}"
                )
        if not self.name:
            raise ValueError("name must be a non-empty string, got ''")
        validation.check_choice("mode", self.mode, get_args(Mode))
        validation.check_choice("distribution", self.distribution, get_args(Distribution))
        validation.check_bool("data_dependent", self.data_dependent)
        # frozen: object.__setattr__ is the documented way to normalise fields at init, so that
        # a NumPy scalar is stored (and hashed, and printed) as the float it stands for.
        object.__setattr__(
            self, "scale", validation.check_real("scale", self.scale, low=0, high=MAX_STD**2)
        )
        object.__setattr__(
            self, "value", validation.check_real("value", self.value, low=-MAX_STD, high=MAX_STD)
        )

    def variance(self, fan_in: int, fan_out: int) -> float:
        """The theoretical Var(W_ij) for a (fan_in, fan_out) matrix."""
        validation.check_int("fan_in", fan_in, low=1)
        validation.check_int("fan_out", fan_out, low=1)
        if self.distribution == "constant":
            return 0.0
        if self.distribution == "orthogonal":
            return self.scale / max(fan_in, fan_out)
        return self.scale / _fan(self.mode, fan_in, fan_out)

    def sample(
        self,
        rng: np.random.Generator,
        fan_in: int,
        fan_out: int,
        dtype: npt.DTypeLike = DEFAULT_DTYPE,
    ) -> FloatArray:
        """Draw W with shape (fan_in, fan_out), so that z = x @ W, in float32 or float64.

        At most `MAX_VALUES` weights, and for orthogonal a QR decomposition (in float64) of
        at most `MAX_MULTIPLY_ADDS` multiply-adds, max(fan_in, fan_out) × min(...)². In float32
        a normal draw with a std near `MAX_STD` can pass float32's largest value: those weights
        are ±inf (NumPy warns of the overflow), which a forward pass reports at its first layer.
        """
        validation.check_rng(rng)
        shape = (
            validation.check_int("fan_in", fan_in, low=1),
            validation.check_int("fan_out", fan_out, low=1),
        )
        dtype = validation.check_float_dtype(dtype)
        validation.check_budget(
            fan_in * fan_out,
            validation.MAX_VALUES,
            what="weights",
            formula="fan_in × fan_out",
            arguments="fan_in or fan_out",
        )
        if self.distribution == "orthogonal":
            validation.check_budget(
                max(shape) * min(shape) ** 2,
                validation.MAX_MULTIPLY_ADDS,
                what="multiply-adds for the QR decomposition",
                formula="max(fan_in, fan_out) × min(fan_in, fan_out)²",
                arguments="fan_in or fan_out",
            )
        # A Python float (math.sqrt), not np.sqrt: a NumPy float64 factor would promote float32
        # W to float64 under NEP 50, while a Python scalar keeps W's dtype.
        std = math.sqrt(self.variance(fan_in, fan_out))
        if self.distribution == "constant":
            return np.full(shape, self.value, dtype=dtype)
        if self.distribution == "normal":
            return rng.standard_normal(shape, dtype=dtype) * std
        if self.distribution == "truncated_normal":
            w = _truncated_standard_normal(rng, shape, dtype)
            return w * std / TRUNCATED_NORMAL_STD
        if self.distribution == "uniform":
            limit = math.sqrt(3.0) * std
            return (rng.random(shape, dtype=dtype) * 2 - 1) * limit
        return _orthogonal(rng, fan_in, fan_out, dtype) * math.sqrt(self.scale)


def _fan(mode: Mode, fan_in: int, fan_out: int) -> float:
    return {"fixed": 1.0, "fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[
        mode
    ]


def _truncated_standard_normal(
    rng: np.random.Generator, shape: tuple[int, int], dtype: npt.DTypeLike
) -> FloatArray:
    """N(0, 1) restricted to [-2, 2] by redrawing the 4.6 % of values outside it."""
    w = rng.standard_normal(shape, dtype=dtype)
    outside = np.abs(w) > 2
    while outside.any():
        w[outside] = rng.standard_normal(int(outside.sum()), dtype=dtype)
        outside = np.abs(w) > 2
    return w


def _orthogonal(
    rng: np.random.Generator, fan_in: int, fan_out: int, dtype: npt.DTypeLike
) -> FloatArray:
    """A (fan_in, fan_out) matrix with orthonormal columns (or rows, if fan_in < fan_out).

    QR of a Gaussian matrix, with the signs of R's diagonal folded into Q so that the result
    is uniform (Haar) over orthogonal matrices, not biased by the QR convention.
    """
    tall = (max(fan_in, fan_out), min(fan_in, fan_out))
    q, r = np.linalg.qr(rng.standard_normal(tall))
    q *= np.sign(np.diag(r))
    w = q if fan_in >= fan_out else q.T
    return np.ascontiguousarray(w, dtype=dtype)


def variance_scaling(
    name: str,
    label: str,
    formula: str,
    scale: float,
    mode: Mode,
    distribution: Distribution = "normal",
    *,
    torch: str = "",
    keras: str = "",
) -> Initializer:
    """The one family behind LeCun, Glorot and He: Var(W) = scale / n(mode).

    `scale` is a finite number from 0 to 1e30; `mode` one of fixed, fan_in, fan_out, fan_avg;
    `distribution` one of normal, truncated_normal, uniform, orthogonal, constant.
    """
    return Initializer(name, label, formula, scale, mode, distribution, torch=torch, keras=keras)


def normal_std(std: float) -> Initializer:
    """N(0, std²) for any std from 1e-30 to 1e38: the book's fixed-std experiments with a
    custom value."""
    std = validation.check_real("std", std, low=MIN_STD, high=MAX_STD)
    return Initializer(
        f"std_{std:g}",
        f"std = {std:g}",
        rf"W \sim \mathcal{{N}}\!\left(0,\ {std:g}^2\right)",
        std**2,
        "fixed",
        "normal",
        torch=f"torch.nn.init.normal_(w, std={std:g})",
        keras=f"keras.initializers.RandomNormal(stddev={std:g})",
    )


def constant(value: float) -> Initializer:
    """W_ij = value everywhere: every unit of a layer starts, and stays, identical.

    `value` is any real number (NumPy scalars included) from -1e38 to 1e38.
    """
    value = validation.check_real("constant value", value, low=-MAX_STD, high=MAX_STD)
    return Initializer(
        f"constant_{value:g}",
        f"Constant W = {value:g}",
        rf"W_{{ij}} = {value:g}",
        0.0,
        "fixed",
        "constant",
        value,
        torch=f"torch.nn.init.constant_(w, {value:g})",
        keras=f"keras.initializers.Constant({value:g})",
    )


_N_IN = r"n_\text{in}"
_N_OUT = r"n_\text{out}"
_TORCH = "torch.nn.init."
_KERAS = "keras.initializers."


def _keras_untruncated(scale: str, mode: str, truncated: str) -> str:
    """The Keras call for an untruncated normal, and why its named initializer is not it."""
    return (
        f'{_KERAS}VarianceScaling(scale={scale}, mode="{mode}", distribution="untruncated_normal")'
        f"\n# {_KERAS}{truncated}() has this variance but is truncated at ±2σ"
    )


INITIALIZERS: Mapping[str, Initializer] = by_name(
    (
        Initializer(
            "zeros",
            "Zeros (W = 0)",
            r"W_{ij} = 0",
            0.0,
            "fixed",
            "constant",
            torch=f"{_TORCH}zeros_(w)",
            keras=f"{_KERAS}Zeros()",
        ),
        variance_scaling(
            "std_0.01",
            "std = 0.01 (the book's first try)",
            r"W \sim \mathcal{N}\!\left(0,\ 0.01^2\right)",
            1e-4,
            "fixed",
            torch=f"{_TORCH}normal_(w, std=0.01)",
            keras=f"{_KERAS}RandomNormal(stddev=0.01)",
        ),
        variance_scaling(
            "std_1",
            "std = 1",
            r"W \sim \mathcal{N}(0,\ 1)",
            1.0,
            "fixed",
            torch=f"{_TORCH}normal_(w, std=1.0)",
            keras=f"{_KERAS}RandomNormal(stddev=1.0)",
        ),
        variance_scaling(
            "lecun_normal",
            'LeCun normal √(1/n): the book\'s "Xavier"',
            rf"W \sim \mathcal{{N}}\!\left(0,\ \frac{{1}}{{{_N_IN}}}\right)",
            1.0,
            "fan_in",
            # Gain 1 for "linear": std = 1/√fan_in, with fan_in read from w's dim 1.
            torch=f'{_TORCH}kaiming_normal_(w, nonlinearity="linear")',
            keras=_keras_untruncated("1.0", "fan_in", "LecunNormal"),
        ),
        variance_scaling(
            "lecun_uniform",
            "LeCun uniform",
            rf"W \sim \mathcal{{U}}\!\left(\pm\sqrt{{\frac{{3}}{{{_N_IN}}}}}\right)",
            1.0,
            "fan_in",
            "uniform",
            torch=f'{_TORCH}kaiming_uniform_(w, nonlinearity="linear")',
            keras=f"{_KERAS}LecunUniform()",
        ),
        variance_scaling(
            "glorot_normal",
            "Glorot/Xavier normal (fan_in + fan_out)",
            rf"W \sim \mathcal{{N}}\!\left(0,\ \frac{{2}}{{{_N_IN} + {_N_OUT}}}\right)",
            1.0,
            "fan_avg",
            torch=f"{_TORCH}xavier_normal_(w)",
            keras=_keras_untruncated("1.0", "fan_avg", "GlorotNormal"),
        ),
        variance_scaling(
            "glorot_uniform",
            "Glorot/Xavier uniform (fan_in + fan_out)",
            rf"W \sim \mathcal{{U}}\!\left(\pm\sqrt{{\frac{{6}}{{{_N_IN} + {_N_OUT}}}}}\right)",
            1.0,
            "fan_avg",
            "uniform",
            torch=f"{_TORCH}xavier_uniform_(w)",
            keras=f"{_KERAS}GlorotUniform()",
        ),
        variance_scaling(
            "he_normal",
            "He/Kaiming normal √(2/n)",
            rf"W \sim \mathcal{{N}}\!\left(0,\ \frac{{2}}{{{_N_IN}}}\right)",
            2.0,
            "fan_in",
            torch=f'{_TORCH}kaiming_normal_(w, nonlinearity="relu")',
            keras=_keras_untruncated("2.0", "fan_in", "HeNormal"),
        ),
        variance_scaling(
            "he_uniform",
            "He/Kaiming uniform",
            rf"W \sim \mathcal{{U}}\!\left(\pm\sqrt{{\frac{{6}}{{{_N_IN}}}}}\right)",
            2.0,
            "fan_in",
            "uniform",
            torch=f'{_TORCH}kaiming_uniform_(w, nonlinearity="relu")',
            keras=f"{_KERAS}HeUniform()",
        ),
        Initializer(
            "orthogonal",
            "Orthogonal (Saxe et al.)",
            r"W = Q,\quad A = QR,\ A_{ij} \sim \mathcal{N}(0, 1)",
            1.0,
            "fixed",
            "orthogonal",
            torch=f"{_TORCH}orthogonal_(w)",
            keras=f"{_KERAS}Orthogonal()",
        ),
        Initializer(
            "lsuv",
            "LSUV: orthogonal, then unit output variance per layer on data (Mishkin & Matas)",
            r"W_l = Q_l \,/\, \sqrt{\operatorname{Var}(z_l)}\ \text{ layer by layer, until }"
            r"\ \lvert \operatorname{Var}(z_l) - 1 \rvert < 0.1",
            1.0,
            "fixed",
            "orthogonal",
            torch="lsuv.lsuv_with_singlebatch(model, x_batch)  # pip install lsuv",
            keras=f"{_KERAS}Orthogonal()\n# then each layer rescaled on a batch: not built in",
            data_dependent=True,
        ),
        variance_scaling(
            "torch_default",
            'PyTorch Linear default U(±1/√n), Glorot\'s "standard"',
            rf"W \sim \mathcal{{U}}\!\left(\pm\frac{{1}}{{\sqrt{{{_N_IN}}}}}\right)",
            1 / 3,
            "fan_in",
            "uniform",
            # What nn.Linear.reset_parameters calls: gain √(2/(1+5)), bound 1/√fan_in.
            torch=f"{_TORCH}kaiming_uniform_(w, a=math.sqrt(5))  # nn.Linear's default",
            keras=f'{_KERAS}VarianceScaling(scale=1 / 3, mode="fan_in", distribution="uniform")',
        ),
    )
)

# Framework names for the same schemes; the UI lists each scheme once, under its registry key.
ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "xavier_normal": "glorot_normal",
        "xavier_uniform": "glorot_uniform",
        "kaiming_normal": "he_normal",
        "kaiming_uniform": "he_uniform",
    }
)


def get_initializer(spec: str | Initializer) -> Initializer:
    """Resolve a registry key, an alias or an `Initializer`; a `ValueError` lists the names."""
    if isinstance(spec, Initializer):
        return spec
    if isinstance(spec, str):
        found = INITIALIZERS.get(ALIASES.get(spec, spec))
        if found is not None:
            return found
    raise ValueError(
        f"unknown initializer {spec!r}; choose one of: {', '.join(INITIALIZERS)} "
        f"(aliases: {', '.join(ALIASES)}), or pass core.normal_std(std) for a custom std"
    )
