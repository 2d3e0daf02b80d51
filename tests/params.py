"""Parameter lists whose first cases run in the fast loop and the rest only in the full suite.

The fast loop (`pytest -m "not slow and not browser"`) should walk every path of the code once
in under a minute; the full suite walks every case. A long parametrization keeps its first
`fast` cases in the fast loop and marks the others `slow`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import pytest
from _pytest.mark import ParameterSet

SLOW = pytest.mark.slow


def fast_first(
    values: Iterable[Any], *, fast: int = 1, ids: Callable[[Any], str] | None = None
) -> list[ParameterSet]:
    """`values` as pytest parameters, all but the first `fast` of them marked slow. A tuple
    value is spread over the test's argument names, as `parametrize` does with plain tuples."""
    params = []
    for index, value in enumerate(values):
        args = value if isinstance(value, tuple) else (value,)
        marks = () if index < fast else (SLOW,)
        params.append(pytest.param(*args, marks=marks, id=ids(value) if ids else None))
    return params
