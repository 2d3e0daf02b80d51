"""Pure Altair builders for the views inside the race: one panel per initializer, side by
side on shared axes and colours, so the initializers compare at a glance."""

from __future__ import annotations

import unicodedata

import altair as alt
import pandas as pd

from ui.charts import legend_columns, panels_per_row
from ui.i18n import _
from ui.inside_frames import MIN_SHARE, RULE_OF_THUMB

PANEL_WIDTH = 240
PANEL_HEIGHT = 200
PANEL_SPACING = 20  # Vega-Lite's default between facets
Y_AXIS_WIDTH = 110  # a log axis's labels (0.000001), its title and padding, left of each row
SIDE_LEGEND_WIDTH = 130  # the heat map's colour bar and its title, right of the panels
LEGEND_ENTRY_WIDTH = 60  # one entry of the legend of weights or layers ("W out", "12")
# An initializer's label over its panel, in two lines after its first colon ("LeCun normal
# √(1/n): / the book's 'Xavier'"), so that it stays as wide as the panel in every language.
HEADER_LINES = "split(replace(replace(datum.value, ': ', ':\\n'), '：', '：\\n'), '\\n')"
LAYER_SCHEME = "viridis"  # layers in order, first to last: dark to light
HEAT_SCHEME = "inferno"


def _facet(
    chart: alt.Chart | alt.LayerChart, df: pd.DataFrame, width: int | None, frame: int
) -> alt.FacetChart:
    """One panel per initializer, in the race's order, as many side by side as fit in `width`
    pixels (all of them when the width is unknown); the others wrap onto more rows."""
    order = list(dict.fromkeys(df["initializer"]))
    header = alt.Header(labelFontSize=13, labelExpr=HEADER_LINES, labelLimit=PANEL_WIDTH)
    by_initializer = alt.Facet("initializer:N", title=None, sort=order, header=header)
    columns = panels_per_row(
        width, panel=PANEL_WIDTH, spacing=PANEL_SPACING, frame=frame, most=len(order)
    )
    return chart.facet(facet=by_initializer, columns=columns, spacing=PANEL_SPACING)


def _top_legend(width: int | None) -> alt.Legend:
    """A legend of weights or layers on top, its entries wrapped onto rows that fit in `width`
    pixels (up to 31 of them with 30 layers); one row when the width is unknown."""
    columns = legend_columns(width, LEGEND_ENTRY_WIDTH, frame=Y_AXIS_WIDTH)
    return alt.Legend(orient="top", columns=alt.Undefined if columns is None else columns)


def _title_lines(title: str) -> str | list[str]:
    """An axis title along a panel's height; one longer than the panel (in Japanese, say) in
    two lines before its parenthesis: "アクティベーションの標準偏差 / （対数軸）"."""
    # Vega cannot measure text in a spec, so estimate it: 11-pixel type, CJK glyphs square.
    wide = sum(unicodedata.east_asian_width(c) in "WF" for c in title)
    if 11 * wide + 6 * (len(title) - wide) <= PANEL_HEIGHT:
        return title
    for opening in (" (", "（"):
        head, found, tail = title.rpartition(opening)
        if found and head:
            return [head, found.strip() + tail]
    return title


def _step_axis() -> alt.X:
    return alt.X("step:Q", title=_("iteration"), scale=alt.Scale(nice=False, zero=False))


def _lines(df: pd.DataFrame, y: alt.Y, color: alt.Color, tooltip: list[alt.Tooltip]) -> alt.Chart:
    """One thin line with small points per series, over the iterations."""
    return (
        alt.Chart(df if df is not None else alt.Undefined)
        .mark_line(point=alt.OverlayMarkDef(size=12), strokeWidth=1.5)
        .encode(x=_step_axis(), y=y, color=color, tooltip=[alt.Tooltip("initializer:N"), *tooltip])
    )


def ratio_chart(df: pd.DataFrame, *, width: int | None = None) -> alt.FacetChart:
    """Update:data ratio std(ΔW)/std(W) per weight matrix over training, on a log axis, with
    the 1e-3 rule of thumb as a dashed line; panels wrap to fit `width` pixels."""
    title = _("update:data ratio (log)")
    lines = _lines(
        None,
        alt.Y("ratio:Q", title=_title_lines(title), scale=alt.Scale(type="log")),
        alt.Color(
            "matrix:N",
            title=_("weights"),
            sort=list(dict.fromkeys(df["matrix"])),
            scale=alt.Scale(scheme=LAYER_SCHEME),
            legend=_top_legend(width),
        ),
        [
            alt.Tooltip("matrix:N", title=_("weights")),
            alt.Tooltip("step:Q", title=_("iteration"), format=","),
            alt.Tooltip("ratio:Q", title=_("update:data ratio"), format=".2e"),
        ],
    )
    rule = (
        alt.Chart().mark_rule(strokeDash=[6, 3], color="black").encode(y=alt.datum(RULE_OF_THUMB))
    )
    layered = alt.layer(lines, rule, data=df).properties(width=PANEL_WIDTH, height=PANEL_HEIGHT)
    return _facet(layered, df, width, frame=Y_AXIS_WIDTH)


def layer_metric_chart(
    df: pd.DataFrame, *, title: str, log: bool, width: int | None = None
) -> alt.FacetChart:
    """A per-layer quantity over training, one line per hidden layer; fractions in percent;
    panels wrap to fit `width` pixels."""
    y_scale = alt.Scale(type="log") if log else alt.Scale(domain=[0, 1])
    axis = alt.Axis() if log else alt.Axis(format="%")
    lines = _lines(
        df,
        alt.Y("value:Q", title=_title_lines(title), scale=y_scale, axis=axis),
        alt.Color(
            "layer:O",
            title=_("hidden layer"),
            scale=alt.Scale(scheme=LAYER_SCHEME),
            legend=_top_legend(width),
        ),
        [
            alt.Tooltip("layer:O", title=_("hidden layer")),
            alt.Tooltip("step:Q", title=_("iteration"), format=","),
            alt.Tooltip("value:Q", title=title, format=".3g" if log else ".1%"),
        ],
    )
    return _facet(
        lines.properties(width=PANEL_WIDTH, height=PANEL_HEIGHT), df, width, frame=Y_AXIS_WIDTH
    )


def heat_chart(
    df: pd.DataFrame, *, layer: int, x_domain: tuple[float, float], width: int | None = None
) -> alt.FacetChart:
    """The colourful dimension: one layer's activation histogram at every checkpoint, steps
    across and values up, the share of values in each bin as colour (log, shared); panels
    wrap to fit `width` pixels, and the colour bar moves under them where it does not fit
    beside them."""
    panels = df["initializer"].nunique()
    beside = Y_AXIS_WIDTH + SIDE_LEGEND_WIDTH
    # The colour bar beside the panels where they all fit in a row with it, else under them.
    side = (
        width is None
        or panels_per_row(
            width, panel=PANEL_WIDTH, spacing=PANEL_SPACING, frame=beside, most=panels
        )
        == panels
    )
    legend = (
        alt.Legend(orient="right", format="~%")
        if side
        else alt.Legend(orient="bottom", format="~%", direction="horizontal")
    )
    chart = (
        alt.Chart(df)
        .mark_rect()
        .encode(
            x=alt.X("step_start:Q", title=_("iteration"), scale=alt.Scale(nice=False, zero=False)),
            x2="step_end:Q",
            y=alt.Y(
                "bin_start:Q",
                title=_("hidden layer {layer}: activation").format(layer=layer),
                scale=alt.Scale(domain=list(x_domain), nice=False, zero=False),
            ),
            y2="bin_end:Q",
            color=alt.Color(
                "share:Q",
                title=_("share of values (log)"),
                scale=alt.Scale(type="log", domain=[MIN_SHARE, 1], scheme=HEAT_SCHEME, clamp=True),
                legend=legend,
            ),
            tooltip=[
                alt.Tooltip("initializer:N"),
                alt.Tooltip("step:Q", title=_("iteration"), format=","),
                alt.Tooltip("bin_start:Q", title=_("from"), format=".3g"),
                alt.Tooltip("bin_end:Q", title=_("to"), format=".3g"),
                alt.Tooltip("share:Q", title=_("share of values"), format=".2%"),
            ],
        )
        .properties(width=PANEL_WIDTH, height=PANEL_HEIGHT)
    )
    return _facet(chart, df, width, frame=beside if side else Y_AXIS_WIDTH)
