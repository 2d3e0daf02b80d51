"""Inside the race: what every layer does while the networks learn, drawn under the race.

Three views of the race's telemetry (`core.race.telemetry`), one panel per initializer, side by
side on shared axes and colours: the update:data ratio of every weight matrix (with the 1e-3
rule of thumb), a per-layer quantity over training (activation std, dead units, saturated
values or the gradient's std), and one layer's activation histogram at every checkpoint as a
heat map (fastai's "colourful dimension"). While the race trains they are redrawn without
their controls (a widget may be drawn once per run); once it has finished, with them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import streamlit as st

from core.race.telemetry import Telemetry
from ui import inside_charts
from ui.export import chart_downloads, table_download
from ui.i18n import _, ngettext
from ui.inside_frames import LAYER_METRICS, heat_frame, layer_metric_frame, ratio_frame
from ui.page_width import main_width

METRIC_KEY = "inside.metric"  # view controls of a finished race, not settings of one
LAYER_KEY = "inside.layer"
DEFAULT_METRIC = "act_std"


def render_inside(
    telemetry: Mapping[str, Telemetry],
    labels: Mapping[str, str],
    notes: Mapping[str, str],
    *,
    live: bool = False,
) -> None:
    """The three views of `telemetry` in the current container; `notes` are the preset's
    sentences on what to notice, by view ("ratio", "layers", "heat"), already translated."""
    if not telemetry:
        return
    st.subheader(_("Inside the race: what every layer does"))
    st.caption(
        _(
            "Measured at every checkpoint on that step's training batch, for every network; "
            "with several seeds, their mean. The dashed line is the rule of thumb of 1e-3 for "
            "the update:data ratio std(ΔW) / std(W)."
        )
    )
    _ratio_view(telemetry, labels, notes.get("ratio"), live)
    _layers_view(telemetry, labels, notes.get("layers"), live)
    _heat_view(telemetry, labels, notes.get("heat"), live)


def _note(note: str | None) -> None:
    if note:
        st.info(note, icon=":material/visibility:")


def _left_out(n: int) -> None:
    if n:
        message = ngettext(
            "{n} value is not drawn: a log axis cannot show zero, infinite or missing values.",
            "{n} values are not drawn: a log axis cannot show zero, infinite or missing values.",
            n,
        )
        st.caption(":material/info: " + message.format(n=n))


def _ratio_view(
    telemetry: Mapping[str, Telemetry], labels: Mapping[str, str], note: str | None, live: bool
) -> None:
    frame = ratio_frame(telemetry, labels)
    if frame.data.empty:
        return
    chart = inside_charts.ratio_chart(frame.data, width=main_width())
    st.altair_chart(chart, width="content")
    _left_out(frame.left_out)
    if not live:
        _downloads(chart, frame.data, "update-ratio")
    _note(note)


def _layers_view(
    telemetry: Mapping[str, Telemetry], labels: Mapping[str, str], note: str | None, live: bool
) -> None:
    metric = st.session_state.get(METRIC_KEY, DEFAULT_METRIC)
    if not live:
        metric = (
            st.segmented_control(
                _("Per layer"),
                list(LAYER_METRICS),
                format_func=lambda m: _(LAYER_METRICS[m][0]),
                default=DEFAULT_METRIC,
                key=METRIC_KEY,
            )
            or DEFAULT_METRIC
        )
    label, log = LAYER_METRICS[metric]
    frame = layer_metric_frame(telemetry, labels, metric)
    if frame.data.empty:
        return
    title = _("{label} (log)").format(label=_(label)) if log else _(label)
    chart = inside_charts.layer_metric_chart(frame.data, title=title, log=log, width=main_width())
    st.altair_chart(chart, width="content")
    _left_out(frame.left_out)
    if not live:
        _downloads(chart, frame.data, f"layers-{metric}")
    _note(note)


def _heat_view(
    telemetry: Mapping[str, Telemetry], labels: Mapping[str, str], note: str | None, live: bool
) -> None:
    n_layers = next(iter(telemetry.values())).act_counts.shape[2]
    layer = min(int(st.session_state.get(LAYER_KEY, n_layers)), n_layers)  # the last by default
    if not live and n_layers > 1:
        st.session_state[LAYER_KEY] = layer  # within this race's layers
        layer = st.slider(_("Hidden layer of the heat map"), 1, n_layers, key=LAYER_KEY)
    df = heat_frame(telemetry, labels, layer)
    if df.empty:
        return
    edges = [t.act_edges for t in telemetry.values()]
    domain = (float(min(e[0] for e in edges)), float(max(e[-1] for e in edges)))
    chart = inside_charts.heat_chart(df, layer=layer, x_domain=domain, width=main_width())
    st.altair_chart(chart, width="content")
    clipped = max(
        float(np.nanmax(t.act_clipped[:, :, layer - 1], initial=0)) for t in telemetry.values()
    )
    if clipped > 0:
        st.caption(
            ":material/info: "
            + _(
                "Up to {share} of a checkpoint's values lie beyond the heat map's fixed range "
                "and are counted in its end bins."
            ).format(share=f"{clipped:.1%}")
        )
    if not live:
        _downloads(chart, df, f"heat-layer-{layer}")
    _note(note)


def _downloads(chart: Any, df: Any, name: str) -> None:
    with st.container(horizontal=True, gap="small"):
        chart_downloads(chart, name)
        table_download(df.rename(columns=_), name)
