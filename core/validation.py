"""Argument checks shared by the public functions: each error names the value and what is valid."""

from __future__ import annotations

import math
import numbers
from collections.abc import Collection


def check_int(name: str, value: object, *, low: int, high: int | None = None) -> int:
    """`value` as an int in [low, high]; bools and floats like 2.5 are refused."""
    valid = f">= {low}" if high is None else f"between {low} and {high}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer {valid}, got {value!r}")
    if value < low or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer {valid}, got {value}")
    return int(value)


def check_positive(name: str, value: object) -> float:
    """`value` as a finite float > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def check_choice(name: str, value: object, choices: Collection[str]) -> str:
    """`value` if it is one of `choices`, else a ValueError that lists them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value
