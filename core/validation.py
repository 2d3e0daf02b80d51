"""Argument checks shared by the public functions: each error names the value and what is valid.

Every bad argument raises a ValueError naming the argument and what it accepts. A value of the
wrong type raises `InvalidTypeError`, which is both a TypeError and a ValueError (as the
standard library's `io.UnsupportedOperation` is both an OSError and a ValueError), so callers
that catch either keep working.

The budgets below bound the work one call may ask for. They sit far above anything the app's
controls allow, so a script has room to explore, but an absurd request (a billion layers, a
width of 10^30) fails at once, naming its arguments, instead of hanging or ending minutes later
in a MemoryError.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection

import numpy as np

# Floats one call may hold at once: 2 GiB in float32, 4 GiB in float64. The app's largest
# forward pass holds about 3.4·10^7 (30 layers of 1,000 units, 6·10^6 activations); its
# training caps bound time, not memory, and let a race ask for up to ~5·10^9 (20 GB).
MAX_VALUES = 2**29
# Multiply-adds one call may do (the products of its matrix multiplications): about 10× the
# app's largest training race, and 4-5 minutes of float32 products on one core (~40·10^9/s).
MAX_MULTIPLY_ADDS = 10**13
# Steps of a Python-level loop one call may run (training iterations, unit counts at
# checkpoints): each costs tens of microseconds at least, so this is minutes at most.
MAX_LOOP_STEPS = 10**6
MAX_LAYERS = 10_000  # layers of one network (each is a Python-level step with its statistics)
MAX_BINS = 100_000  # histogram bins (the app draws 30; a chart refuses more than 5,000 rows)
MAX_SEED = 2**64 - 1  # seeds are one 64-bit word
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # what np.random draws into


class InvalidTypeError(TypeError, ValueError):
    """An argument of the wrong type: a TypeError, and a ValueError like every other bad
    argument."""


def check_int(name: str, value: object, *, low: int, high: int | None = None) -> int:
    """`value` as an int in [low, high]; bools and floats like 2.5 are refused."""
    valid = f">= {low}" if high is None else f">= {low} and <= {high:,}"
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Integral):
        raise InvalidTypeError(f"{name} must be an integer {valid}, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer {valid}, got {value}")
    return int(value)


def check_seed(value: object, name: str = "seed") -> int:
    """A seed for np.random.SeedSequence: an integer from 0 to 2^64 - 1."""
    return check_int(name, value, low=0, high=MAX_SEED)


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """`value` as a finite float within [low, high] (or (low, high] with `low_open`).

    Any real number is accepted: Python's int and float and NumPy's integer and floating
    scalars alike; bools, strings, complex numbers, NaN and inf are refused.
    """
    parts = []
    if low is not None:
        parts.append(f"{'>' if low_open else '>='} {low:g}")
    if high is not None:
        parts.append(f"<= {high:g}")
    valid = "a finite number" + (" " + " and ".join(parts) if parts else "")
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise InvalidTypeError(f"{name} must be {valid}, got {value!r}")
    x = float(value)
    if (
        not math.isfinite(x)
        or (low is not None and (x <= low if low_open else x < low))
        or (high is not None and x > high)
    ):
        raise ValueError(f"{name} must be {valid}, got {value!r}")
    return x


def check_positive(name: str, value: object, *, high: float | None = None) -> float:
    """`value` as a finite float > 0 (and <= high, if given)."""
    return check_real(name, value, low=0.0, high=high, low_open=True)


def check_bool(name: str, value: object) -> bool:
    """`value` if it is True or False (NumPy's bools included); "False", 0 or None are refused,
    so that a string from a form cannot switch an option on."""
    if not isinstance(value, bool | np.bool_):
        raise InvalidTypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_choice(name: str, value: object, choices: Collection[str]) -> str:
    """`value` if it is one of `choices`, else a ValueError that lists them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value


def check_float_dtype(value: object, name: str = "dtype") -> np.dtype:
    """`value` as float32 or float64, the precisions NumPy's generators draw into."""
    message = f"{name} must be np.float32 or np.float64, got {value!r}"
    if value is None:  # np.dtype(None) is float64: too easy to pass by accident
        raise InvalidTypeError(message)
    try:
        dtype = np.dtype(value)  # type: ignore[call-overload]
    except (TypeError, ValueError) as e:
        raise InvalidTypeError(message) from e
    if not any(dtype == valid for valid in FLOAT_DTYPES):
        raise InvalidTypeError(message)
    return dtype


def check_rng(value: object, name: str = "rng") -> np.random.Generator:
    """`value` if it is a np.random.Generator (np.random.default_rng(seed) makes one)."""
    if not isinstance(value, np.random.Generator):
        raise InvalidTypeError(
            f"{name} must be a np.random.Generator (np.random.default_rng(seed)), got {value!r}"
        )
    return value


def check_real_array(name: str, value: object, *, ndim: int | None = None) -> np.ndarray:
    """`value` as an integer or float array (a list of numbers is converted), with `ndim`
    dimensions if given and at most `MAX_VALUES` values; bools, strings and objects are refused.
    The array keeps its dtype: a float32 array is not copied."""
    if isinstance(value, str | bytes):
        raise InvalidTypeError(f"{name} must be an array of numbers, got {value!r}")
    if not isinstance(value, np.ndarray) and hasattr(value, "__len__"):
        check_budget(len(value), MAX_VALUES, what="values", formula=f"len({name})", arguments=name)  # type: ignore[arg-type]
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as e:  # ragged nested lists
        raise InvalidTypeError(f"{name} must be an array of numbers, got {value!r}") from e
    if array.dtype.kind not in "iuf":
        raise InvalidTypeError(
            f"{name} must be an array of real numbers (int or float), got dtype {array.dtype}"
        )
    if ndim is not None and array.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {array.shape}")
    check_budget(array.size, MAX_VALUES, what="values", formula=f"{name}.size", arguments=name)
    return array


def check_budget(amount: int, limit: int, *, what: str, formula: str, arguments: str) -> None:
    """Refuse a call whose `amount` of work (values held, multiply-adds, loop steps) exceeds
    `limit`, naming the arguments that set it."""
    if amount > limit:
        raise ValueError(
            f"{formula} = {amount:,} {what}, over the limit of {limit:,}: use a smaller {arguments}"
        )
