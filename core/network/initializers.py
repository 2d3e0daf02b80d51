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
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
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
        _latex(std**2, "fixed", "normal"),
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


_FAN_LATEX: Mapping[Mode, str] = MappingProxyType(
    {"fan_in": r"n_\text{in}", "fan_out": r"n_\text{out}", "fan_avg": r"n_\text{in} + n_\text{out}"}
)


def _latex(scale: float, mode: Mode, distribution: Distribution) -> str:
    """W's distribution in LaTeX, written from its variance scale / n(mode), so that a
    formula never says other than the draw: N(0, c / n) for a normal, U(±√(3c / n)) for a
    uniform (c = 2 × scale for fan_avg, whose n is the mean of the two fans). Other
    distributions are written out in the registry."""
    if distribution not in ("normal", "uniform"):
        raise ValueError(f"a {distribution} scheme needs its formula written out")
    if mode == "fixed":
        std = math.sqrt(scale)
        if distribution == "uniform":
            return rf"W \sim \mathcal{{U}}\!\left(\pm {math.sqrt(3) * std:g}\right)"
        return rf"W \sim \mathcal{{N}}\!\left(0,\ {std:g}^2\right)"
    fan = _FAN_LATEX[mode]
    c = scale * (2 if mode == "fan_avg" else 1)
    if distribution == "normal":
        return rf"W \sim \mathcal{{N}}\!\left(0,\ \frac{{{_number(c)}}}{{{fan}}}\right)"
    if math.isclose(3 * c, 1):
        return rf"W \sim \mathcal{{U}}\!\left(\pm\frac{{1}}{{\sqrt{{{fan}}}}}\right)"
    return rf"W \sim \mathcal{{U}}\!\left(\pm\sqrt{{\frac{{{_number(3 * c)}}}{{{fan}}}}}\right)"


def _number(x: float) -> str:
    """`x` in LaTeX: 2, or 2/3 as \\tfrac{2}{3} where a small fraction is `x` to the float's
    precision; else its digits (1e-09, never a fraction that only looks like it)."""
    f = Fraction(x).limit_denominator(1000)
    if not math.isclose(f, x, rel_tol=1e-12):
        return f"{x:g}"
    return (
        str(f.numerator) if f.denominator == 1 else rf"\tfrac{{{f.numerator}}}{{{f.denominator}}}"
    )


def _registry() -> Mapping[str, Initializer]:
    """The schemes of `initializers.toml`, in its order (each row checked by `Initializer`)."""
    rows = tomllib.loads(Path(__file__).with_name("initializers.toml").read_text("utf-8"))
    schemes = []
    for name, row in rows.items():
        row.setdefault("distribution", "normal")
        if "formula" not in row:
            row["formula"] = _latex(row["scale"], row["mode"], row["distribution"])
        schemes.append(Initializer(name=name, **row))
    return by_name(schemes)


INITIALIZERS: Mapping[str, Initializer] = _registry()

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
