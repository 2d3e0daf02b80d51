"""Pure Altair chart builders: a DataFrame in, a chart out, no Streamlit and no maths.

Titles, axes and tooltips are worded in the language of the run that builds the chart.
"""

from __future__ import annotations

import json
import math

import altair as alt
import pandas as pd

from ui.i18n import _

PANEL_WIDTH = 120  # 5 panels fit the main column of a 1280-pixel-wide window, 2 a phone's
PANEL_HEIGHT = 110
PANEL_SPACING = 14
PANELS_PER_ROW = 5  # the book's figure shows 5 layers side by side
Y_AXIS_WIDTH = 84  # the count axis, its title and padding: 740 px for 5 panels, less 656
LEGEND_ENTRY_WIDTH = 300  # an initializer's label in a legend, with its symbol and gap
LEGEND_INDENT = 110  # a top legend starts over the plot, right of the y axis; plus its symbol
LEGEND_ROW_HEIGHT = 20
BAR_COLOR = "#4C78A8"
LOSS_COLORS = "tableau10"  # distinct hues: the theme's default palette starts with two blues
LOSS_HEIGHT = 340
LOSS_CEILING = 2.5  # the book's figure's y-range; higher values are drawn at the top edge


def layer_label_expr() -> str:
    """A Vega expression that heads a facet "Layer 3" in the reader's language."""
    before, after = _("Layer {n}").split("{n}")
    return f"{json.dumps(before)} + datum.value + {json.dumps(after)}"


def panels_per_row(width: int | None, *, panel: int, spacing: int, frame: int, most: int) -> int:
    """How many panels `panel` pixels wide fit side by side in a chart `width` pixels wide,
    where `frame` pixels go to axes and legends: from 1 up to `most` (all of them when the
    width is unknown)."""
    if width is None:
        return most
    return max(1, min(most, (width - frame + spacing) // (panel + spacing)))


def legend_columns(width: int | None, entry: int, *, frame: int = 0) -> int | None:
    """How many legend entries `entry` pixels wide fit in a row of a chart `width` pixels wide
    beside `frame` pixels of axis; None (one row, as Vega lays it out) when the width is
    unknown."""
    return None if width is None else max(1, (width - frame) // entry)


def top_legend(
    width: int | None, *, entry: int = LEGEND_ENTRY_WIDTH, label_limit: int = 400, **kwargs: object
) -> alt.Legend:
    """A legend on top of a chart `width` pixels wide, its entries in columns `entry` pixels
    wide so that they wrap onto more rows rather than run off the chart (Vega does not wrap a
    legend by itself); one row when the width is unknown."""
    columns = legend_columns(width, entry)
    if width is None or columns is None:  # both, for the type checker
        return alt.Legend(orient="top", labelLimit=label_limit, **kwargs)
    limit = min(label_limit, width - LEGEND_INDENT)  # a longer label ends in an ellipsis
    return alt.Legend(orient="top", columns=columns, labelLimit=limit, **kwargs)


def legend_rows_height(width: int | None, entries: int, entry: int = LEGEND_ENTRY_WIDTH) -> int:
    """The height that a `top_legend` wrapped onto more rows adds to a chart, so that the plot
    keeps its height (a stretched chart's height includes its legend)."""
    columns = legend_columns(width, entry)
    return 0 if columns is None else (math.ceil(entries / columns) - 1) * LEGEND_ROW_HEIGHT


def histogram_chart(
    df: pd.DataFrame, *, x_title: str, x_domain: tuple[float, float], width: int | None = None
) -> alt.FacetChart:
    """Small multiples: one histogram per hidden layer, sharing the x and y scales, as many
    side by side (up to the book's 5) as fit in `width` pixels.

    Shared scales let the eye compare layers, which is the point of the figure: the bins
    (`bin_start`, `bin_end`) come from core with the same edges for every layer.
    """
    base = (
        alt.Chart(df)
        .mark_bar(color=BAR_COLOR, binSpacing=0)
        .encode(
            x=alt.X(
                "bin_start:Q",
                bin="binned",
                title=x_title,
                scale=alt.Scale(domain=list(x_domain), nice=False, zero=False),
                axis=alt.Axis(tickCount=4, format="~g"),
            ),
            x2="bin_end:Q",
            y=alt.Y("count:Q", title=_("count"), axis=alt.Axis(format=",d", tickCount=4)),
            tooltip=[
                alt.Tooltip("layer:O", title=_("layer")),
                alt.Tooltip("bin_start:Q", title=_("from"), format=".3g"),
                alt.Tooltip("bin_end:Q", title=_("to"), format=".3g"),
                alt.Tooltip("count:Q", title=_("count"), format=","),
            ],
        )
        .properties(width=PANEL_WIDTH, height=PANEL_HEIGHT)
    )
    return base.facet(
        facet=alt.Facet(
            "layer:O",
            title=None,
            header=alt.Header(labelExpr=layer_label_expr(), labelFontSize=13),
        ),
        columns=panels_per_row(
            width,
            panel=PANEL_WIDTH,
            spacing=PANEL_SPACING,
            frame=Y_AXIS_WIDTH,
            most=PANELS_PER_ROW,
        ),
        spacing=PANEL_SPACING,
    )


def loss_chart(
    df: pd.DataFrame, *, iterations: int | None = None, seeds: int = 1, width: int | None = None
) -> alt.LayerChart:
    """Training loss per step: the raw curve faint, the smoothed curve on top (as in the book);
    with several `seeds`, their mean, over a band from the lowest to the highest seed.

    With `iterations`, the x-axis spans the whole run from the start, so live curves grow
    across a fixed frame. The y-axis stops at the book's 2.5 and clamps anything above it to
    the top edge, so one exploding network cannot flatten the others. The chart stretches to
    the page; `width` only lets its legend wrap.
    """
    domain = alt.Undefined if iterations is None else [1, iterations]
    x = alt.X("step:Q", title=_("iteration"), scale=alt.Scale(domain=domain, nice=False))
    y_scale = alt.Scale(domain=[0, LOSS_CEILING], clamp=True)
    order = list(dict.fromkeys(df["initializer"]))  # legend and colours in the race's order
    color = alt.Color(
        "initializer:N",
        title=None,
        scale=alt.Scale(domain=order, scheme=LOSS_COLORS),
        legend=top_legend(width, symbolOpacity=1),
    )
    base = alt.Chart(df).encode(x=x, color=color)
    raw = base.mark_line(opacity=0.25, strokeWidth=1).encode(
        y=alt.Y("loss:Q", title=_("training loss"), scale=y_scale)
    )
    several = seeds > 1
    tooltip = [
        alt.Tooltip("initializer:N"),
        alt.Tooltip("step:Q", format=","),
        alt.Tooltip(
            "smoothed:Q",
            title=_("mean of the seeds, smoothed loss") if several else _("smoothed loss"),
            format=".3f",
        ),
        alt.Tooltip(
            "loss:Q",
            title=_("mean of the seeds, raw loss") if several else _("raw loss"),
            format=".3f",
        ),
    ]
    layers = [raw]
    if several:
        tooltip += [
            alt.Tooltip("low:Q", title=_("lowest seed"), format=".3f"),
            alt.Tooltip("high:Q", title=_("highest seed"), format=".3f"),
        ]
        band = base.mark_area(opacity=0.2).encode(
            y=alt.Y("low:Q", title=_("training loss"), scale=y_scale), y2=alt.Y2("high:Q")
        )
        layers.append(band)
    smooth = base.mark_line(strokeWidth=2.5).encode(
        y=alt.Y("smoothed:Q", title=_("training loss"), scale=y_scale), tooltip=tooltip
    )
    return alt.layer(*layers, smooth).properties(
        height=LOSS_HEIGHT + legend_rows_height(width, len(order))
    )


UNITS_HEIGHT = 320  # the whole chart: its title, legend and axes take about 200 pixels of it
UNITS_TICKS = (1, 2, 5, 10, 20, 50, 100, 200, 500)  # up to the widest layer the race allows


def units_chart(df: pd.DataFrame, *, width: int | None = None) -> alt.Chart:
    """Distinct units per hidden layer at each checkpoint, on a log axis (1 up to the width).

    One line per initializer and layer; the layers of one initializer share its colour, and
    the tooltip names the layer. A constant init draws a flat line at 1. `width` lets the
    legend wrap.
    """
    order = list(dict.fromkeys(df["initializer"]))  # the same colours as the loss chart
    color = alt.Color(
        "initializer:N",
        title=None,
        scale=alt.Scale(domain=order, scheme=LOSS_COLORS),
        legend=top_legend(width, symbolOpacity=1),
    )
    return (
        alt.Chart(df, title=_("Distinct units per layer"))
        .mark_line(point=True, strokeWidth=2)
        .encode(
            x=alt.X("step:Q", title=_("iteration (0 = initialization)")),
            y=alt.Y(
                "units:Q",
                title=_("distinct units (log scale)"),
                scale=alt.Scale(type="log", domainMin=1, nice=True),
                axis=alt.Axis(format="~d", values=list(UNITS_TICKS)),
            ),
            color=color,
            detail="layer:O",
            tooltip=[
                alt.Tooltip("initializer:N"),
                alt.Tooltip("layer:O", title=_("hidden layer")),
                alt.Tooltip("step:Q", format=","),
                alt.Tooltip("units:Q", title=_("distinct units"), format=","),
            ],
        )
        .properties(height=UNITS_HEIGHT + legend_rows_height(width, len(order)))
    )


# Activation blue and gradient orange; each measured series and its prediction share a colour.
DEPTH_COLORS = ("#4C78A8", "#4C78A8", "#F58518", "#F58518")
DEPTH_DASHES = ([1, 0], [6, 4], [1, 0], [6, 4])  # measured solid, predicted dashed
DEPTH_HEIGHT = 320
DEPTH_LEGEND_ENTRY_WIDTH = 230


def std_depth_chart(
    df: pd.DataFrame, *, series: tuple[str, ...], width: int | None = None
) -> alt.LayerChart:
    """Std per layer on a log axis: measured lines with points, predictions dashed.

    `series` is the legend's order, alternating measured and predicted per quantity; colour
    and dash both encode the series, so Vega-Lite draws one legend with four entries. Rows
    must hold finite, positive std (a log axis cannot place 0, inf or NaN). `width` lets the
    legend wrap.
    """
    legend = top_legend(
        width,
        entry=DEPTH_LEGEND_ENTRY_WIDTH,
        label_limit=300,
        title=None,
        symbolType="stroke",
        symbolStrokeWidth=2.5,
    )
    color = alt.Color(
        "series:N", scale=alt.Scale(domain=list(series), range=list(DEPTH_COLORS)), legend=legend
    )
    dash = alt.StrokeDash(
        "series:N", scale=alt.Scale(domain=list(series), range=list(DEPTH_DASHES)), legend=legend
    )
    x = alt.X(
        "layer:Q",
        title=_("layer"),
        scale=alt.Scale(nice=False, zero=False),
        axis=alt.Axis(format="d", tickMinStep=1),
    )
    y = alt.Y("std:Q", title=_("std (log scale)"), scale=alt.Scale(type="log"))
    tooltip = [
        alt.Tooltip("series:N", title=_("series")),
        alt.Tooltip("layer:Q", title=_("layer")),
        alt.Tooltip("std:Q", title=_("std"), format=".3g"),
    ]
    base = alt.Chart(df).encode(x=x, y=y, color=color, tooltip=tooltip)
    lines = base.mark_line(strokeWidth=2).encode(strokeDash=dash)
    points = base.transform_filter(alt.datum.source == "measured").mark_point(filled=True, size=40)
    extra = legend_rows_height(width, len(series), entry=DEPTH_LEGEND_ENTRY_WIDTH)
    return alt.layer(lines, points).properties(height=DEPTH_HEIGHT + extra)


SWEEP_SCHEME = "redblue"  # reversed below: blue vanishes, white holds steady, red explodes
SWEEP_HEIGHT = 380
SIGMA_TICKS = (0.25, 0.5, 1, 2, 4)  # core's default σ grid spans 0.25..4, log-spaced


def _marked_rules(marked: pd.DataFrame, y_scale: alt.Scale) -> list[alt.Chart]:
    """A dashed rule at each marked σ, labelled at the right edge over a white halo."""
    marks = alt.Chart(marked).encode(y=alt.Y("sigma:Q", scale=y_scale))
    rules = marks.mark_rule(color="black", strokeDash=[6, 3], strokeWidth=1.5)
    text = {"align": "right", "baseline": "bottom", "dx": -4, "dy": -3}
    label = {"x": alt.value("width"), "text": "label:N"}
    halo = marks.mark_text(**text, stroke="white", strokeWidth=3).encode(**label)
    return [rules, halo, marks.mark_text(**text).encode(**label)]


def sweep_heatmap(
    cells: pd.DataFrame, marked: pd.DataFrame, *, log_std_clip: float
) -> alt.LayerChart:
    """σ × depth heat map of log10 std, with a labelled rule at each marked σ.

    `cells` carries each cell's edges (`depth_start`..`depth_end`, `sigma_low`..`sigma_high`),
    so σ sits on a true log axis although its grid is not evenly spaced. The colour domain is
    fixed at ±`log_std_clip` (std 1 in the middle) so maps of different settings compare.
    """
    color_scale = alt.Scale(
        scheme=SWEEP_SCHEME, reverse=True, domain=[-log_std_clip, log_std_clip], domainMid=0
    )
    color = alt.Color(
        "log_std:Q",
        title=["log₁₀ std", _("(clipped to ±{clip})").format(clip=f"{log_std_clip:g}")],
        scale=color_scale,
        legend=alt.Legend(orient="right", gradientLength=SWEEP_HEIGHT - 80),
    )
    # A hairline in each cell's own colour hides the anti-aliasing seams between cells. It reads
    # a copy of the field so that Vega-Lite does not merge it into the colour bar's legend.
    stroke = alt.Stroke("edge:Q", scale=color_scale, legend=None)
    y_scale = alt.Scale(
        type="log", nice=False, domain=[cells["sigma_low"].min(), cells["sigma_high"].max()]
    )
    cells_layer = (
        alt.Chart(cells)
        .transform_calculate(edge=alt.datum.log_std)
        .mark_rect(strokeWidth=0.5)
        .encode(
            x=alt.X(
                "depth_start:Q",
                title=_("depth (layers)"),
                scale=alt.Scale(nice=False, zero=False),
                axis=alt.Axis(format="d", tickMinStep=1, grid=False),
            ),
            x2="depth_end:Q",
            y=alt.Y(
                "sigma_low:Q",
                title=_("σ in W ~ N(0, σ²/n) (log scale)"),
                scale=y_scale,
                axis=alt.Axis(values=list(SIGMA_TICKS), format="~g", grid=False),
            ),
            y2="sigma_high:Q",
            color=color,
            stroke=stroke,
            tooltip=[
                alt.Tooltip("sigma:Q", title="σ", format=".3g"),
                alt.Tooltip("depth:Q", title=_("depth")),
                alt.Tooltip("std_text:N", title=_("activation std")),
            ],
        )
    )
    return alt.layer(cells_layer, *_marked_rules(marked, y_scale)).properties(height=SWEEP_HEIGHT)
