"""Pure Altair builders for the views inside the race: one panel per initializer, side by
side on shared axes and colours, so the initializers compare at a glance."""

from __future__ import annotations

import altair as alt
import pandas as pd

from ui.i18n import _
from ui.inside_frames import MIN_SHARE, RULE_OF_THUMB

PANEL_WIDTH = 240
PANEL_HEIGHT = 200
LAYER_SCHEME = "viridis"  # layers in order, first to last: dark to light
HEAT_SCHEME = "inferno"


def _by_initializer(df: pd.DataFrame) -> alt.Facet:
    order = list(dict.fromkeys(df["initializer"]))
    return alt.Facet("initializer:N", title=None, sort=order, header=alt.Header(labelFontSize=13))


def _step_axis() -> alt.X:
    return alt.X("step:Q", title=_("iteration"), scale=alt.Scale(nice=False, zero=False))


def _lines(df: pd.DataFrame, y: alt.Y, color: alt.Color, tooltip: list[alt.Tooltip]) -> alt.Chart:
    """One thin line with small points per series, over the iterations."""
    return (
        alt.Chart(df if df is not None else alt.Undefined)
        .mark_line(point=alt.OverlayMarkDef(size=12), strokeWidth=1.5)
        .encode(x=_step_axis(), y=y, color=color, tooltip=[alt.Tooltip("initializer:N"), *tooltip])
    )


def ratio_chart(df: pd.DataFrame) -> alt.FacetChart:
    """Update:data ratio std(ΔW)/std(W) per weight matrix over training, on a log axis, with
    the 1e-3 rule of thumb as a dashed line."""
    title = _("update:data ratio (log)")
    lines = _lines(
        None,
        alt.Y("ratio:Q", title=title, scale=alt.Scale(type="log")),
        alt.Color(
            "matrix:N",
            title=_("weights"),
            sort=list(dict.fromkeys(df["matrix"])),
            scale=alt.Scale(scheme=LAYER_SCHEME),
            legend=alt.Legend(orient="top"),
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
    return layered.facet(column=_by_initializer(df))


def layer_metric_chart(df: pd.DataFrame, *, title: str, log: bool) -> alt.FacetChart:
    """A per-layer quantity over training, one line per hidden layer; fractions in percent."""
    y_scale = alt.Scale(type="log") if log else alt.Scale(domain=[0, 1])
    axis = alt.Axis() if log else alt.Axis(format="%")
    lines = _lines(
        df,
        alt.Y("value:Q", title=title, scale=y_scale, axis=axis),
        alt.Color(
            "layer:O",
            title=_("hidden layer"),
            scale=alt.Scale(scheme=LAYER_SCHEME),
            legend=alt.Legend(orient="top"),
        ),
        [
            alt.Tooltip("layer:O", title=_("hidden layer")),
            alt.Tooltip("step:Q", title=_("iteration"), format=","),
            alt.Tooltip("value:Q", title=title, format=".3g" if log else ".1%"),
        ],
    )
    return lines.properties(width=PANEL_WIDTH, height=PANEL_HEIGHT).facet(
        column=_by_initializer(df)
    )


def heat_chart(df: pd.DataFrame, *, layer: int, x_domain: tuple[float, float]) -> alt.FacetChart:
    """The colourful dimension: one layer's activation histogram at every checkpoint, steps
    across and values up, the share of values in each bin as colour (log, shared)."""
    return (
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
                legend=alt.Legend(orient="right", format="~%"),
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
        .facet(column=_by_initializer(df))
    )
