"""Every registered initializer against its own formula: moments, bounds, orthogonality, dtype."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from numpy.testing import assert_allclose

import core.network.initializers as initializers_module
from core.network.initializers import (
    INITIALIZERS,
    TRUNCATED_NORMAL_STD,
    Initializer,
    constant,
    get_initializer,
    normal_std,
    variance_scaling,
)

SHAPES = [(784, 100), (256, 512), (100, 100)]
NAMES = list(INITIALIZERS)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("fan_in", "fan_out"), SHAPES)
def test_initializer_moments_match_variance_formula(
    name: str, fan_in: int, fan_out: int, rng: np.random.Generator
) -> None:
    init = INITIALIZERS[name]
    w = init.sample(rng, fan_in, fan_out, np.float64)
    var = init.variance(fan_in, fan_out)
    n = w.size
    assert w.shape == (fan_in, fan_out)
    if var == 0:
        assert not w.any()
        return
    # Sample mean: standard error σ/√n. Sample variance: relative standard error √(2/n)
    # for a normal, smaller for a uniform; 5 standard errors either way.
    assert abs(w.mean()) < 5 * math.sqrt(var / n)
    assert w.var() == pytest.approx(var, rel=5 * math.sqrt(2 / n))


@pytest.mark.parametrize(
    "name", [n for n, i in INITIALIZERS.items() if i.distribution == "uniform"]
)
@pytest.mark.parametrize(("fan_in", "fan_out"), SHAPES)
def test_uniform_initializer_stays_within_limit(
    name: str, fan_in: int, fan_out: int, rng: np.random.Generator
) -> None:
    init = INITIALIZERS[name]
    limit = math.sqrt(3 * init.variance(fan_in, fan_out))
    w = init.sample(rng, fan_in, fan_out, np.float64)
    assert np.abs(w).max() <= limit
    assert np.abs(w).max() > 0.99 * limit  # and fills the interval


@pytest.mark.parametrize(("fan_in", "fan_out"), SHAPES)
def test_orthogonal_initializer_is_orthogonal(
    fan_in: int, fan_out: int, rng: np.random.Generator
) -> None:
    w = INITIALIZERS["orthogonal"].sample(rng, fan_in, fan_out, np.float64)
    gram = w.T @ w if fan_in >= fan_out else w @ w.T
    assert_allclose(gram, np.eye(min(fan_in, fan_out)), atol=1e-10)


def test_book_formulas_for_784_to_100() -> None:
    """NOTES: the book's 'Xavier' √(1/n) and the frameworks' Glorot differ, 0.0357 vs 0.0476."""
    assert math.sqrt(INITIALIZERS["lecun_normal"].variance(784, 100)) == pytest.approx(0.0357, 1e-3)
    assert math.sqrt(INITIALIZERS["glorot_normal"].variance(784, 100)) == pytest.approx(
        0.0476, 1e-3
    )
    assert INITIALIZERS["he_normal"].variance(784, 100) == pytest.approx(2 / 784)
    assert INITIALIZERS["torch_default"].variance(784, 100) == pytest.approx(1 / (3 * 784))
    assert INITIALIZERS["std_0.01"].variance(784, 100) == pytest.approx(1e-4)


def test_lecun_normal_label_names_the_books_xavier() -> None:
    assert 'the book\'s "Xavier"' in INITIALIZERS["lecun_normal"].label
    assert "fan_in + fan_out" in INITIALIZERS["glorot_normal"].label


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initializer_sample_has_requested_dtype(
    name: str, dtype: type, rng: np.random.Generator
) -> None:
    assert INITIALIZERS[name].sample(rng, 30, 20, dtype).dtype == dtype


@pytest.mark.parametrize("name", NAMES)
def test_initializer_has_label_and_latex_formula(name: str) -> None:
    init = INITIALIZERS[name]
    assert init.name == name
    assert init.label
    assert "W" in init.formula


def test_truncated_normal_keeps_declared_variance(rng: np.random.Generator) -> None:
    init = variance_scaling("t", "t", "W", 2.0, "fan_in", "truncated_normal")
    w = init.sample(rng, 1000, 500, np.float64)
    std = math.sqrt(2 / 1000)
    assert np.abs(w).max() <= 2 * std / TRUNCATED_NORMAL_STD
    assert w.var() == pytest.approx(std**2, rel=5 * math.sqrt(2 / w.size))


def test_normal_std_draws_custom_std(rng: np.random.Generator) -> None:
    init = normal_std(0.05)
    assert init.variance(10, 10) == pytest.approx(0.0025)
    assert init.sample(rng, 500, 500, np.float64).std() == pytest.approx(0.05, rel=0.01)


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), float("inf"), "0.1", True, 1e-31, 1e39])
def test_normal_std_rejects_non_positive_or_non_numbers(bad: object) -> None:
    with pytest.raises(ValueError, match=r"std must be a finite number >= 1e-30 and <= 1e\+38"):
        normal_std(bad)  # type: ignore[arg-type]


def test_constant_initializer_fills_value(rng: np.random.Generator) -> None:
    w = constant(0.3).sample(rng, 4, 5)
    assert (w == np.float32(0.3)).all()
    assert constant(0.3).variance(4, 5) == 0


def test_get_initializer_resolves_aliases_and_specs() -> None:
    assert get_initializer("xavier_normal") is INITIALIZERS["glorot_normal"]
    assert get_initializer("kaiming_uniform") is INITIALIZERS["he_uniform"]
    custom = normal_std(0.2)
    assert get_initializer(custom) is custom
    assert isinstance(get_initializer("he_normal"), Initializer)


def test_get_initializer_unknown_name_lists_choices() -> None:
    with pytest.raises(ValueError, match=r"choose one of: zeros, std_0\.01, std_1, lecun_normal"):
        get_initializer("kaiming")


@pytest.mark.parametrize(("fan_in", "fan_out"), [(0, 5), (5, -1), (2.5, 3)])
def test_initializer_sample_rejects_bad_fans(
    fan_in: object, fan_out: object, rng: np.random.Generator
) -> None:
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        INITIALIZERS["he_normal"].sample(rng, fan_in, fan_out)  # type: ignore[arg-type]


@pytest.mark.usefixtures("global_rng_untouched")
def test_initializer_sample_is_reproducible_and_leaves_global_state_alone() -> None:
    for init in INITIALIZERS.values():
        a = init.sample(np.random.default_rng(7), 50, 40)
        b = init.sample(np.random.default_rng(7), 50, 40)
        np.testing.assert_array_equal(a, b)


# --- framework parity ------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_initializer_names_its_torch_and_keras_calls(name: str) -> None:
    init = INITIALIZERS[name]
    if init.data_dependent:  # a procedure on data (LSUV), not a draw: a package's call
        assert init.torch.startswith("lsuv.") and "pip install lsuv" in init.torch
    else:
        assert init.torch.startswith("torch.nn.init.") and init.torch.split("(")[0].endswith("_")
    assert init.keras.startswith("keras.initializers.")
    for call in (init.torch, init.keras):  # one balanced call, before any comment
        code = call.split("#")[0]
        assert code.count("(") == code.count(")") >= 1


def test_framework_calls_for_he_glorot_lecun_and_pytorchs_default() -> None:
    he = INITIALIZERS["he_normal"]
    assert he.torch == 'torch.nn.init.kaiming_normal_(w, nonlinearity="relu")'
    assert he.keras.startswith(
        'keras.initializers.VarianceScaling(scale=2.0, mode="fan_in", '
        'distribution="untruncated_normal")'
    )
    assert "HeNormal() has this variance but is truncated" in he.keras
    assert INITIALIZERS["glorot_normal"].torch == "torch.nn.init.xavier_normal_(w)"
    assert (
        'mode="fan_avg", distribution="untruncated_normal"' in INITIALIZERS["glorot_normal"].keras
    )
    assert "LecunNormal()" in INITIALIZERS["lecun_normal"].keras
    assert INITIALIZERS["glorot_uniform"].keras == "keras.initializers.GlorotUniform()"
    assert INITIALIZERS["he_uniform"].keras == "keras.initializers.HeUniform()"
    assert INITIALIZERS["torch_default"].torch.startswith(
        "torch.nn.init.kaiming_uniform_(w, a=math.sqrt(5))"
    )
    assert INITIALIZERS["torch_default"].keras == (
        'keras.initializers.VarianceScaling(scale=1 / 3, mode="fan_in", distribution="uniform")'
    )
    assert INITIALIZERS["std_0.01"].keras == "keras.initializers.RandomNormal(stddev=0.01)"


@pytest.mark.parametrize("name", [n for n, i in INITIALIZERS.items() if "normal" in n])
def test_keras_names_a_truncated_normal_only_with_a_warning(name: str) -> None:
    """Our normals are untruncated: a Keras *Normal initializer must come with its caveat."""
    keras = INITIALIZERS[name].keras
    assert "truncated_normal" not in keras.replace("untruncated_normal", "")
    if "VarianceScaling" in keras:
        assert "untruncated_normal" in keras and "truncated at ±2σ" in keras


def test_torch_default_matches_kaiming_uniform_with_a_sqrt5() -> None:
    """kaiming_uniform_'s bound gain·√(3/fan_in), with gain √(2/(1 + a²)) and a = √5."""
    fan_in = 784
    gain = math.sqrt(2 / (1 + math.sqrt(5) ** 2))
    bound = gain * math.sqrt(3 / fan_in)
    assert bound == pytest.approx(1 / math.sqrt(fan_in))
    assert INITIALIZERS["torch_default"].variance(fan_in, 10) == pytest.approx(bound**2 / 3)


def test_custom_initializers_fill_their_framework_calls() -> None:
    assert normal_std(0.05).torch == "torch.nn.init.normal_(w, std=0.05)"
    assert normal_std(0.05).keras == "keras.initializers.RandomNormal(stddev=0.05)"
    assert constant(0.3).torch == "torch.nn.init.constant_(w, 0.3)"
    assert constant(0.3).keras == "keras.initializers.Constant(0.3)"
    assert variance_scaling("t", "t", "W", 1.0, "fan_in").torch == ""  # optional, default ""


@pytest.mark.parametrize("value", [np.float32(1), np.float16(0.5), np.int64(2), 3, -2.5])
def test_constant_accepts_any_real_number(value: object, rng: np.random.Generator) -> None:
    """np.float32(1) was refused while np.float64(1) (a float subclass) was accepted."""
    init = constant(value)  # type: ignore[arg-type]
    assert type(init.value) is float and init.value == float(value)  # type: ignore[arg-type]
    assert (init.sample(rng, 3, 2) == np.float32(float(value))).all()  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [np.True_, "1", None, float("nan"), 1e39, complex(1, 0)])
def test_constant_refuses_what_is_not_a_finite_real(bad: object) -> None:
    with pytest.raises(ValueError, match="constant value must be a finite number"):
        constant(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"scale": -1.0}, "scale must be a finite number >= 0"),
        ({"scale": float("inf")}, "scale must be a finite number"),
        ({"scale": "2"}, "scale must be a finite number"),
        ({"mode": "fan_sum"}, "unknown mode 'fan_sum'; choose one of: fixed, fan_in"),
        ({"distribution": "cauchy"}, "unknown distribution 'cauchy'; choose one of: normal"),
        ({"name": ""}, "name must be a non-empty string"),
        ({"label": None}, "label must be a string"),
    ],
)
def test_variance_scaling_refuses_bad_fields(kwargs: dict[str, object], message: str) -> None:
    """A negative scale used to fail later in math.sqrt with 'math domain error'."""
    args = {"name": "mine", "label": "Mine", "formula": "", "scale": 1.0, "mode": "fan_in"}
    with pytest.raises(ValueError, match=message):
        variance_scaling(**{**args, **kwargs})  # type: ignore[arg-type]


def test_variance_scaling_stores_numpy_scalars_as_floats() -> None:
    init = variance_scaling("mine", "Mine", "", np.float32(2), "fan_in")
    assert type(init.scale) is float and init.variance(8, 8) == 0.25


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((None, 3, 3), "rng must be a np.random.Generator"),
        ((np.random.RandomState(0), 3, 3), "rng must be a np.random.Generator"),
        (("rng", 3, 3, np.int32), "dtype must be np.float32 or np.float64"),
        (("rng", 3, 3, np.float16), "dtype must be np.float32 or np.float64"),
        (
            ("rng", 10**30, 3),
            "fan_in × fan_out = 3,000,000,000,000,000,000,000,000,000,000 weights",
        ),
        (("rng", 0, 3), "fan_in must be an integer >= 1"),
        (("rng", 10**5, 10**5), r"fan_in × fan_out = 10,000,000,000 weights, over the limit"),
    ],
)
def test_initializer_sample_refuses_bad_arguments_at_once(args: tuple, message: str) -> None:
    rng = np.random.default_rng(0)
    args = tuple(rng if a == "rng" else a for a in args)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=message):
        INITIALIZERS["he_normal"].sample(*args)
    assert time.perf_counter() - start < 1


def test_initializer_variance_refuses_bad_fans() -> None:
    with pytest.raises(ValueError, match="fan_out must be an integer >= 1"):
        INITIALIZERS["he_normal"].variance(3, 0)


def test_orthogonal_sample_refuses_a_qr_beyond_the_budget() -> None:
    """23,000² weights fit the values budget, but their QR decomposition does not."""
    start = time.perf_counter()
    with pytest.raises(ValueError, match="multiply-adds for the QR decomposition"):
        INITIALIZERS["orthogonal"].sample(np.random.default_rng(0), 23_000, 23_000)
    assert time.perf_counter() - start < 1


_NORMAL_OVER_N_IN = r"W \sim \mathcal{{N}}\!\left(0,\ \frac{{{c}}}{{n_\text{{in}}}}\right)"


@pytest.mark.parametrize(
    ("scale", "mode", "distribution", "expected"),
    [
        (1e-4, "fixed", "normal", r"W \sim \mathcal{N}\!\left(0,\ 0.01^2\right)"),
        (1.0, "fan_in", "normal", r"W \sim \mathcal{N}\!\left(0,\ \frac{1}{n_\text{in}}\right)"),
        (
            1.0,
            "fan_avg",
            "uniform",
            r"W \sim \mathcal{U}\!\left(\pm\sqrt{\frac{6}{n_\text{in} + n_\text{out}}}\right)",
        ),
        (2.0, "fan_out", "normal", r"W \sim \mathcal{N}\!\left(0,\ \frac{2}{n_\text{out}}\right)"),
        (
            1 / 3,
            "fan_in",
            "uniform",
            r"W \sim \mathcal{U}\!\left(\pm\frac{1}{\sqrt{n_\text{in}}}\right)",
        ),
        (
            2 / 3,
            "fan_in",
            "normal",
            r"W \sim \mathcal{N}\!\left(0,\ \frac{\tfrac{2}{3}}{n_\text{in}}\right)",
        ),
        (1 / 3, "fixed", "uniform", r"W \sim \mathcal{U}\!\left(\pm 1\right)"),
        # No small fraction is the value: its digits, never 0 or a look-alike such as 10/81.
        (
            1e-9,
            "fan_in",
            "normal",
            r"W \sim \mathcal{N}\!\left(0,\ \frac{1e-09}{n_\text{in}}\right)",
        ),
        (
            0.123456,
            "fan_in",
            "normal",
            r"W \sim \mathcal{N}\!\left(0,\ \frac{0.123456}{n_\text{in}}\right)",
        ),
    ],
)
def test_registry_formulas_are_written_from_the_variance(
    scale: float, mode: str, distribution: str, expected: str
) -> None:
    """A registry row without a formula gets one from its scale, mode and distribution, so
    the formula the page shows cannot disagree with the draw."""
    assert initializers_module._latex(scale, mode, distribution) == expected  # type: ignore[arg-type]


def test_registry_rows_without_formula_show_their_variance() -> None:
    """Every normal or uniform scheme of the registry shows the variance it draws: N(0, c/n)
    with c = scale (2 × scale over n_in + n_out), U(±√(3c/n))."""
    for init in INITIALIZERS.values():
        if init.distribution in ("normal", "uniform") and init.mode != "fixed":
            c = init.scale * (2 if init.mode == "fan_avg" else 1)
            c *= 3 if init.distribution == "uniform" else 1
            shown = r"\frac{1}{\sqrt" if c == 1 and init.distribution == "uniform" else f"{{{c:g}}}"
            assert shown in init.formula, (init.name, init.formula)


@pytest.mark.parametrize("distribution", ["truncated_normal", "orthogonal", "constant"])
def test_registry_formulas_are_written_out_where_the_variance_does_not_say_them(
    distribution: str,
) -> None:
    with pytest.raises(ValueError, match="needs its formula written out"):
        initializers_module._latex(1.0, "fan_in", distribution)  # type: ignore[arg-type]
