"""How a table's numbers read: a number column where Streamlit shows them right, text where it
would not (`ui.cells`)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ui import cells


@pytest.mark.parametrize(
    ("values", "fmt", "text"),
    [
        ([0.498, 57.7, math.nan], "%.3g", False),  # NaN reads "None" in a number column too
        ([0.498, 999_999.0], "%.3g", False),
        ([0.498, 1.07e9], "%.3g", True),  # the browser's "g" would read 1070000000
        ([1.07e9], "%.3f", False),  # no exponent to drop
        ([0.5, 2.0**53], "%.3f", True),  # an error cell in a number column
        ([-(2.0**60)], None, True),
        ([0.1, math.inf], "percent", True),  # "Infinity", not ∞
        ([0.1, -math.inf], "%.3g", True),
    ],
)
def test_a_column_is_text_where_the_number_column_would_misshow_it(
    values: list[float], fmt: str | None, text: bool
) -> None:
    assert cells.as_text(pd.Series(values), fmt) is text


@pytest.mark.parametrize(
    ("value", "fmt", "shown"),
    [
        (3.92e14, "%.3g", "3.92e+14"),
        (1.6497606e18, "%.3g", "1.65e+18"),
        (0.000123, "%.3g", "0.000123"),
        (986.8821, "%.3f", "986.882"),
        (0.6602, "percent", "66.02%"),
        (0.11, "percent", "11%"),
        (0.0, "percent", "0%"),
        (math.inf, "%.3g", "∞"),
        (-math.inf, "percent", "−∞"),
        (math.nan, "%.3g", cells.MISSING),
        (2.5, None, "2.5"),
    ],
)
def test_a_number_as_text_reads_as_its_format_says(
    value: float, fmt: str | None, shown: str
) -> None:
    assert cells.number_text(value, fmt) == shown


def test_only_the_columns_that_need_it_become_text() -> None:
    shown = pd.DataFrame(
        {"Layer": [1, 2], "Mean": [0.5, 3.92e14], "Std": [0.2, 0.3], "Saturated": [0.5, 1.0]}
    )
    columns = {
        "Layer": (None, None),
        "Mean": ("%.3g", None),
        "Std": ("%.3g", "a hint"),
        "Saturated": ("percent", None),
    }
    drawn, config = cells.drawn_columns(shown, columns)
    assert list(drawn["Mean"]) == ["0.5", "3.92e+14"]
    assert config["Mean"]["type_config"]["type"] == "text"
    assert config["Mean"]["alignment"] == "right"
    assert np.array_equal(drawn["Std"], shown["Std"]) and drawn["Std"].dtype == float
    assert config["Std"]["type_config"]["format"] == "%.3g"
    assert config["Std"]["help"] == "a hint"
    assert "Layer" not in config
    assert shown["Mean"].dtype == float, "the frame given (and downloaded) keeps its numbers"
