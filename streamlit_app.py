"""Init Lab: see why weight initialization matters (Deep Learning from Scratch, §6.2).

Thin on purpose: `sidebar_controls()` turns widgets into a frozen config, `core` computes,
and the render functions below only draw. Run with `streamlit run streamlit_app.py`.

References: Glorot & Bengio 2010; He et al. 2015, arXiv:1502.01852;
LeCun et al. 1998, "Efficient BackProp".
"""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import core
from core.initializers import FRAMEWORK_PITFALLS
from core.mnist import DownloadProgress
from ui import charts, text
from ui.compute import SWEEP_SAMPLES, cached_forward_view, cached_sweep_view, load_dataset
from ui.config import ForwardConfig, TrainConfig
from ui.controls import (
    active_preset,
    active_race_preset,
    preset_buttons,
    race_preset_buttons,
    sidebar_controls,
    sweep_depth_control,
    training_controls,
)
from ui.errors import guarded
from ui.export import chart_downloads, config_link, table_download
from ui.frames import (
    DEPTH_SERIES,
    LOG_STD_CLIP,
    ForwardView,
    diverged_labels,
    framework_frame,
    loss_frame,
    results_frame,
    units_frame,
)
from ui.limits import (
    MAX_ITERATIONS,
    TRAIN_BUDGET_MULTIPLE,
    cap_forward,
    cap_sweep,
    training_over_budget,
)
from ui.race_queue import RACES, QueueFull
from ui.settings import FWD
from ui.training import TrainRun, run_race, stored_run
from ui.url_state import ensure_state, read_url, write_url

ZERO_SPIKE_HINT = 0.3  # suggest hiding zeros when a layer has more than this share of them
PERCENT = st.column_config.NumberColumn(format="percent")
STATS_COLUMNS = {
    "Mean": st.column_config.NumberColumn(format="%.3g"),
    "Std": st.column_config.NumberColumn(format="%.3g"),
    "Saturated": st.column_config.NumberColumn(
        format="percent", help="Share of values where the slope f'(z) is below 5 % of its maximum"
    ),
    "Dead units": st.column_config.NumberColumn(
        format="percent", help="Share of units saturated for every input: they pass no gradient"
    ),
    "Exact zeros": PERCENT,
    "Gradient std": st.column_config.NumberColumn(
        format="%.3g", help="Std of the back-propagated gradient ∂L/∂z at this layer"
    ),
    "Weight-gradient std": st.column_config.NumberColumn(
        format="%.3g", help="Std of the gradient ∂L/∂W of this layer's weights"
    ),
}
DEPTH_LABELS = tuple(label for label, _ in DEPTH_SERIES)
RESULT_COLUMNS = {
    "Key": None,  # hidden: the label says the same thing in words
    "Final loss": st.column_config.NumberColumn(
        format="%.3f",
        help="Smoothed training loss at the last step (with several seeds, their mean)",
    ),
    "Test accuracy": st.column_config.NumberColumn(
        format="percent", help="With several seeds, the mean of those that did not diverge"
    ),
    "Time (s, shared)": st.column_config.NumberColumn(format="%.1f", help=text.TIME_NOTE),
}


@guarded("activations")
def render_activations(cfg: ForwardConfig) -> None:
    """Histograms per hidden layer, the per-layer table, the verdict and the formula."""
    st.header("Activations, layer by layer")
    preset_buttons()
    note = st.empty()  # filled below, once the open tab is known
    capped = cap_forward(cfg)
    if capped.notice:
        st.warning(capped.notice, icon=":material/speed:")
    c = capped.config
    try:
        view = cached_forward_view(c)
    except ValueError as e:
        st.error(str(e))
        return
    if c.batch_norm:
        st.caption(text.BATCH_NORM_NOTE)
    # Tracked, so only the open tab's content runs (and the page holds one chart).
    view_setting = FWD["view"]
    ensure_state(view_setting)
    tabs = st.tabs(view_setting.options, key=view_setting.key, on_change="rerun")
    forward, backward, depth, sweep = tabs
    preset = active_preset()
    if preset is not None:
        note.info(f"**{preset.source}.** Notice: {preset.note}", icon=":material/visibility:")
    if forward.open:
        with forward:
            render_forward(view, c)
    if backward.open:
        with backward:
            render_backward(view, c)
    if depth.open:
        with depth:
            render_depth(view)
    if sweep.open:
        with sweep:
            render_sweep(cfg)
    st.info(f"**Verdict:** {view.verdict}", icon=":material/lightbulb:")
    render_layer_details(view, c.width)


def render_forward(view: ForwardView, c: ForwardConfig) -> None:
    """The book's figure: one histogram of activations per hidden layer."""
    st.caption(text.ACTIVATIONS_CAPTION.format(samples=c.samples, width=c.width, layers=c.layers))
    if not view.histograms.empty:
        hidden = " (exact zeros hidden)" if c.exclude_zeros else ""
        chart = charts.histogram_chart(
            view.histograms,
            x_title=f"{view.activation_label} output{hidden}",
            x_domain=view.x_domain,
        )
        st.altair_chart(chart, width="content")
        chart_downloads(chart, "activations")
    if not c.exclude_zeros and (view.stats["Exact zeros"] > ZERO_SPIKE_HINT).any():
        st.caption(
            ":material/tips_and_updates: Much of the mass sits in the bar at 0 (units that output "
            "exactly 0). Switch on *Hide the spike at zero* in the sidebar to see the rest."
        )


def render_backward(view: ForwardView, c: ForwardConfig) -> None:
    """Glorot & Bengio's Fig. 7: one histogram of the back-propagated gradient per layer."""
    st.caption(text.BACKWARD_CAPTION.format(layers=len(view.stats)))
    if view.grad_overflow_layer is not None:
        st.warning(
            f"The back-propagated gradient overflows the float range at layer "
            f"{view.grad_overflow_layer}: it is shown for the layers above only.",
            icon=":material/warning:",
        )
    if not view.grad_histograms.empty:
        hidden = " (no zeros)" if c.exclude_zeros else ""  # short: it repeats under each panel
        chart = charts.histogram_chart(
            view.grad_histograms, x_title=f"∂L/∂z{hidden}", x_domain=view.grad_x_domain
        )
        st.altair_chart(chart, width="content")
        chart_downloads(chart, "gradients")


def render_depth(view: ForwardView) -> None:
    """Measured std per layer beside variance propagation's prediction, forward and backward."""
    st.caption(text.DEPTH_CAPTION)
    if not view.depth.data.empty:
        chart = charts.std_depth_chart(view.depth.data, series=DEPTH_LABELS)
        st.altair_chart(chart, width="stretch")
        chart_downloads(chart, "std-vs-depth")
    if view.depth.left_out:
        st.caption(
            ":material/info: A log axis cannot show zero, infinite or missing values, so these "
            f"are not drawn: {view.depth.left_out}."
        )


def render_sweep(cfg: ForwardConfig) -> None:
    """The σ × depth map: the activation std after every depth, for a sweep of weight scales.

    It reads the sidebar's activation, width and seed; its depth is its own control.
    """
    capped = cap_sweep(cfg.width, sweep_depth_control())
    if capped.notice:
        st.warning(capped.notice, icon=":material/speed:")
    try:
        with st.spinner("Sweeping σ × depth…"):
            view = cached_sweep_view(cfg.activation, capped.width, capped.depth, cfg.seed)
    except ValueError as e:
        st.error(str(e))
        return
    st.caption(
        text.SWEEP_CAPTION.format(
            width=capped.width,
            samples=SWEEP_SAMPLES,
            activation=view.activation_label,
        )
    )
    chart = charts.sweep_heatmap(view.cells, view.marked, log_std_clip=LOG_STD_CLIP)
    st.altair_chart(chart, width="stretch")
    chart_downloads(chart, "sigma-depth-map")
    if cfg.batch_norm:
        st.caption(text.SWEEP_BATCH_NORM_NOTE)
    if view.clipped:
        st.caption(
            text.SWEEP_CLIP_NOTE.format(
                clip=LOG_STD_CLIP, clipped=view.clipped, cells=len(view.cells)
            )
        )


def render_layer_details(view: ForwardView, width: int) -> None:
    """The per-layer statistics next to the chosen initializer's formula."""
    table, formula = st.columns([5, 2], gap="large")  # wide enough for all eight columns
    with table:
        st.dataframe(view.stats, hide_index=True, column_config=STATS_COLUMNS)
        table_download(view.stats, "layer-stats")
    with formula:
        st.markdown(f"**Initial weights:** {view.initializer.label}")
        st.latex(view.initializer.formula)
        st.caption(
            f"Here Var(W) = {view.weight_variance:.3g}, with n_in = {width:,} inputs per unit."
        )
    render_frameworks(view)


def render_frameworks(view: ForwardView) -> None:
    """The chosen initializer as PyTorch and Keras calls, and the traps in translating it."""
    with st.expander("Same init in PyTorch / Keras", icon=":material/code:"):
        st.caption(text.FRAMEWORKS_CAPTION)
        torch_col, keras_col = st.columns(2)
        with torch_col:
            st.markdown("**PyTorch**")
            torch_call = view.initializer.torch
            st.code(f"{text.TORCH_HEADER}\n{torch_call}", language="python", wrap_lines=True)
        with keras_col:
            st.markdown("**Keras**")
            keras_call = view.initializer.keras
            st.code(f"{text.KERAS_HEADER}\n{keras_call}", language="python", wrap_lines=True)
        st.markdown("**Pitfalls**\n\n" + "\n".join(f"- {p}" for p in FRAMEWORK_PITFALLS))


def _dataset() -> core.Dataset:
    """MNIST for the race, showing a first download's progress and a broken folder's error."""
    slot = st.empty()

    def show(p: DownloadProgress) -> None:
        slot.progress(
            p.done_bytes / p.total_bytes,
            text=f"Downloading MNIST ({p.file}, {p.done_bytes / 1e6:.1f} of "
            f"{p.total_bytes / 1e6:.1f} MB) from {p.mirror}",
        )

    with st.spinner("Loading MNIST…"):
        data, folder_error = load_dataset(show)
    slot.empty()
    if folder_error:
        st.error(f"Your MNIST folder could not be used: {folder_error}")
    why = f"Full MNIST is not in use because {data.note}." if data.note else None
    st.caption(f"**Data:** {data.source}.", help=why)
    return data


@st.fragment
@guarded("training race")
def render_training() -> None:
    """The MNIST race: controls, a Train button, live curves, then the results table.

    A fragment, so that moving one of its controls or pressing Train reruns only this part.
    """
    st.header("Training race on MNIST")
    st.caption(text.TRAINING_CAPTION)
    race_preset_buttons()
    note = st.empty()  # filled once the controls say which preset, if any, is set
    cfg = training_controls()
    preset = active_race_preset()
    if preset is not None:
        note.info(
            f"**{preset.source}.** Press Train, then notice: {preset.note}",
            icon=":material/visibility:",
        )
    data = _dataset()
    refusal = training_over_budget(cfg)
    if not cfg.initializers:
        refusal = "Choose at least one initializer to race."
    clicked = st.button(
        "Train", key="train", type="primary", icon=":material/play_arrow:", disabled=bool(refusal)
    )
    if refusal:
        st.warning(refusal, icon=":material/block:")
    progress, chart = st.empty(), st.empty()
    if clicked and not refusal:
        try:
            run_race(cfg, data, progress, chart)
        except QueueFull:
            progress.warning(
                text.QUEUE_FULL.format(waiting=RACES.max_waiting), icon=":material/group:"
            )
        except ValueError as e:
            st.error(str(e))
    run = stored_run()
    if run is not None:
        render_run(run, cfg, chart)
    # Here, last in the fragment: a race control reruns only the fragment, and the URL and
    # the link must follow it (a sidebar control reruns everything, this included).
    write_url()
    st.markdown("**Share these settings:** this link reopens the page as it is set now.")
    config_link()


def render_run(run: TrainRun, current: TrainConfig, chart: DeltaGenerator) -> None:
    """The kept race: its curves, then once it finished its table and distinct units per layer
    (else why it stopped)."""
    curves_frame = loss_frame(run.losses, run.labels)
    curves = charts.loss_chart(
        curves_frame, iterations=run.config.iterations, seeds=run.config.seeds
    )
    chart.altair_chart(curves, width="stretch")
    if run.result is None:
        st.warning(
            f"Stopped at step {run.step:,} of {run.config.iterations:,}: the page reran while "
            "training (a control outside the race changed). Press Train to run it again.",
            icon=":material/pause_circle:",
        )
        return
    with st.container(horizontal=True, gap="small"):
        chart_downloads(curves, "loss")
        table_download(curves_frame, "loss-curves")
    results = results_frame(run.result)
    st.dataframe(results, hide_index=True, column_config=RESULT_COLUMNS)
    table_download(results, "race-results")
    diverged = diverged_labels(run.result)
    if diverged:
        st.warning(
            f"Diverged (the loss became NaN or infinite): {', '.join(diverged)}. A diverged "
            "network's curve stops at that step, and it gets no test accuracy.",
            icon=":material/warning:",
        )
    st.caption(
        text.RUN_CAPTION.format(
            n=len(run.losses) * run.config.seeds, seconds=run.result.seconds, source=run.data_source
        )
    )
    units = charts.units_chart(units_frame(run.result))
    st.altair_chart(units, width="stretch")
    chart_downloads(units, "distinct-units")
    st.caption(text.UNITS_CAPTION)
    if run.config != current:
        st.caption(
            ":material/history: These results are from the last run; the controls above have "
            "changed since. Press Train to race the new settings."
        )


@guarded("about")
def render_about() -> None:
    """What the experiment shows and why, with references and the MNIST credit."""
    with st.expander("About: what this shows, and why", icon=":material/menu_book:"):
        st.markdown(text.ABOUT)
    with st.expander("Every initializer in PyTorch and Keras", icon=":material/table:"):
        st.caption(text.FRAMEWORKS_CAPTION)
        frameworks = framework_frame()
        st.table(frameworks, hide_index=True)  # static: long calls wrap, not truncate
        table_download(frameworks, "frameworks")
    st.caption(
        text.LIMITS_NOTE.format(
            multiple=TRAIN_BUDGET_MULTIPLE, max_iters=MAX_ITERATIONS, races=RACES.slots
        )
    )


def main() -> None:
    st.set_page_config(
        page_title="Init Lab: why weight initialization matters",
        page_icon=":material/stacked_bar_chart:",
        layout="wide",
    )
    st.title("Init Lab")
    st.markdown(text.INTRO)
    url_notices = read_url()
    if url_notices:
        st.warning(
            "Some of this link's settings could not be used as they were:\n\n"
            + "\n".join(f"- {notice}" for notice in url_notices),
            icon=":material/link_off:",
        )
    cfg = sidebar_controls()
    st.sidebar.caption(
        "The page's URL holds every setting: copy it, or the link at the end of the training "
        "race, to share this view."
    )
    render_activations(cfg)
    st.divider()
    render_training()
    st.divider()
    render_about()


if __name__ == "__main__":
    main()
