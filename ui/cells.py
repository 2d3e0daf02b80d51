"""How a table's numbers read on the page: in Streamlit's number column, or as text where that
column would show them wrongly.

The number column formats in the browser, and three kinds of value come out wrong there: an
integer-valued float beyond 2^53 (every float from 9.0e15 up) becomes an error cell holding
its raw digits; ±inf reads "Infinity", not the page's ∞; and a printf "g" format drops its
exponent from 10^6 to 10^21 (3.92e14 reads 392000000000000). Exploding activations reach all
three. A column holding any of them is drawn as text formatted here, right-aligned; every
other column stays a number column (sortable as numbers), and NaN reads "None" in both.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import streamlit as st

from ui.frames import ColumnFormats
from ui.i18n import _

SAFE_INTEGER = 2.0**53  # from here on, the number column shows an error cell
LONG_G = 1e6  # from here on, a printf "g" format in the browser drops the exponent
MISSING = "None"  # how the number column shows NaN; text columns show it alike


def as_text(values: pd.Series, fmt: str | None) -> bool:
    """Whether the number column would show some of `values` wrongly under `fmt`."""
    numbers = values.to_numpy(dtype=float)
    finite = np.abs(numbers[np.isfinite(numbers)])
    if np.isinf(numbers).any() or (finite >= SAFE_INTEGER).any():
        return True
    return bool(fmt and fmt.endswith("g") and (finite >= LONG_G).any())


def number_text(value: float, fmt: str | None) -> str:
    """`value` as `fmt` shows it ("percent", or printf-style), ∞ for inf, "None" for NaN."""
    if math.isnan(value):
        return MISSING
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if fmt == "percent":  # as the number column's: at most two decimals, none trailing
        return f"{value * 100:.2f}".rstrip("0").rstrip(".") + "%"
    return fmt % value if fmt else f"{value:g}"


def drawn_columns(shown: pd.DataFrame, columns: ColumnFormats) -> tuple[pd.DataFrame, dict]:
    """The frame as the page draws it (headings already translated) and its column config:
    `columns` gives each heading's (format, help), translated here; (None, None) leaves a
    column to Streamlit."""
    drawn = shown.copy()
    config: dict[str, object] = {}
    for column, (fmt, hint) in columns.items():
        if not (fmt or hint):
            continue
        heading, help_text = _(column), _(hint) if hint else None
        if as_text(shown[heading], fmt):
            drawn[heading] = [number_text(v, fmt) for v in shown[heading]]
            config[heading] = st.column_config.TextColumn(help=help_text, alignment="right")
        else:
            config[heading] = st.column_config.NumberColumn(format=fmt, help=help_text)
    return drawn, config
