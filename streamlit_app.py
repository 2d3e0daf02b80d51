"""Init Lab: see why weight initialization matters (Deep Learning from Scratch, §6.2).

Thin on purpose: `sidebar_controls()` turns widgets into a frozen config, `core` computes,
and the render functions below only draw. Run with `streamlit run streamlit_app.py`.

References: Glorot & Bengio 2010; He et al. 2015, arXiv:1502.01852;
LeCun et al. 1998, "Efficient BackProp".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import core
from core.data.mnist import DownloadProgress
from ui import charts, text
from ui.cells import drawn_columns
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
from ui.errors import guarded, show_refusal
from ui.export import chart_downloads, config_link, table_download
from ui.frames import (
    DEPTH_SERIES,
    HIDDEN_COLUMNS,
    LOG_STD_CLIP,
    RESULT_COLUMNS,
    STATS_COLUMNS,
    ColumnFormats,
    ForwardView,
    diverged_labels,
    framework_frame,
    loss_frame,
    results_frame,
    units_frame,
)
from ui.i18n import _, join_clauses, join_list, ngettext
from ui.inside_view import render_inside
from ui.labels import SCALE_LABELS, activation_label, initializer_label
from ui.limits import (
    MAX_ITERATIONS,
    TRAIN_BUDGET_MULTIPLE,
    cap_forward,
    cap_sweep,
    training_over_budget,
)
from ui.page_width import main_width, measure_main_width, rerun_for_width
from ui.presets import inside_notes
from ui.race_queue import RACES, QueueFull
from ui.settings import FWD, LANGUAGE
from ui.training import RacePlaces, TrainRun, race_labels, run_race, stored_run
from ui.url_state import read_url, speak, write_url
from ui.widgets import (
    ABOUT_OPEN,
    ALL_FRAMEWORKS_OPEN,
    FRAMEWORKS_OPEN,
    draw,
    draw_tabs,
    lazy_expander,
)

ZERO_SPIKE_HINT = 0.3  # suggest hiding zeros when a layer has more than this share of them
DEPTH_LABELS = tuple(label for label, _field in DEPTH_SERIES)
URL_NOTICES_KEY = "url_notices"


def show_table(df: pd.DataFrame, columns: ColumnFormats, name: str) -> None:
    """A frame as a table in the reader's language, with its CSV download (same headings, the
    numbers as computed)."""
    shown = df.rename(columns=_)
    drawn, config = drawn_columns(shown, columns)
    config |= {_(column): None for column in HIDDEN_COLUMNS}  # kept in the CSV
    st.dataframe(drawn, hide_index=True, column_config=config)
    table_download(shown, name)


@guarded("activations")
def render_activations(cfg: ForwardConfig) -> None:
    """Histograms per hidden layer, the per-layer table, the verdict and the formula."""
    st.header(_("Activations, layer by layer"))
    preset_buttons()
    note = st.empty()  # filled below, once the open tab is known
    capped = cap_forward(cfg)
    if capped.notice:
        st.warning(capped.notice, icon=":material/speed:")
    c = capped.config
    try:
        view = cached_forward_view(c)
    except ValueError as e:
        show_refusal(e)
        return
    if c.batch_norm:
        st.caption(text.BATCH_NORM_NOTE)
    # Tracked, so only the open tab's content runs (and the page holds one chart).
    forward, backward, depth, sweep = draw_tabs(FWD["view"]).values()
    preset = active_preset()
    if preset is not None:
        note.info(
            _("**{source}.** Notice: {note}").format(source=_(preset.source), note=_(preset.note)),
            icon=":material/visibility:",
        )
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
    st.info(
        _("**Verdict:** {verdict}").format(verdict=text.verdict(view.diagnosis)),
        icon=":material/lightbulb:",
    )
    render_layer_details(view, c.width)


def render_forward(view: ForwardView, c: ForwardConfig) -> None:
    """The book's figure: one histogram of activations per hidden layer."""
    st.caption(
        _(text.ACTIVATIONS_CAPTION).format(samples=c.samples, width=c.width, layers=c.layers)
    )
    if not view.histograms.empty:
        title = (
            _("{activation} output (exact zeros hidden)")
            if c.exclude_zeros
            else _("{activation} output")
        )
        chart = charts.histogram_chart(
            view.histograms,
            x_title=title.format(activation=activation_label(c.activation)),
            x_domain=view.x_domain,
            width=main_width(),
        )
        st.altair_chart(chart, width="content")
        chart_downloads(chart, "activations")
    if not c.exclude_zeros and (view.stats["Exact zeros"] > ZERO_SPIKE_HINT).any():
        hint = _(
            "Much of the mass sits in the bar at 0 (units that output exactly 0). Switch on "
            "*{toggle}* in the sidebar to see the rest."
        )
        toggle = _(FWD["exclude_zeros"].label)
        st.caption(":material/tips_and_updates: " + hint.format(toggle=toggle))


def render_backward(view: ForwardView, c: ForwardConfig) -> None:
    """Glorot & Bengio's Fig. 7: one histogram of the back-propagated gradient per layer."""
    st.caption(_(text.BACKWARD_CAPTION).format(layers=len(view.stats)))
    if view.grad_overflow_layer is not None:
        st.warning(
            _(
                "The back-propagated gradient overflows the float range at layer {layer}: it is "
                "shown for the layers above only."
            ).format(layer=view.grad_overflow_layer),
            icon=":material/warning:",
        )
    if not view.grad_histograms.empty:
        # Short: it repeats under each panel.
        title = _("∂L/∂z (no zeros)") if c.exclude_zeros else "∂L/∂z"
        chart = charts.histogram_chart(
            view.grad_histograms, x_title=title, x_domain=view.grad_x_domain, width=main_width()
        )
        st.altair_chart(chart, width="content")
        chart_downloads(chart, "gradients")


def render_depth(view: ForwardView) -> None:
    """Measured std per layer beside variance propagation's prediction, forward and backward."""
    st.caption(_(text.DEPTH_CAPTION))
    if not view.depth.data.empty:
        data = view.depth.data.assign(series=view.depth.data["series"].map(_))
        series = tuple(_(s) for s in DEPTH_LABELS)
        chart = charts.std_depth_chart(data, series=series, width=main_width())
        st.altair_chart(chart, width="stretch")
        chart_downloads(chart, "std-vs-depth")
    if view.depth.left_out:
        missing = join_clauses(
            ngettext("{series} at {n} layer", "{series} at {n} layers", n).format(
                series=_(series), n=n
            )
            for series, n in view.depth.left_out
        )
        hint = _(
            "A log axis cannot show zero, infinite or missing values, so these are not drawn: "
            "{missing}."
        )
        st.caption(":material/info: " + hint.format(missing=missing))


def render_sweep(cfg: ForwardConfig) -> None:
    """The σ × depth map: the activation std after every depth, for a sweep of weight scales.

    It reads the sidebar's activation, width and seed; its depth is its own control.
    """
    capped = cap_sweep(cfg.width, sweep_depth_control())
    if capped.notice:
        st.warning(capped.notice, icon=":material/speed:")
    try:
        with st.spinner(_("Sweeping σ × depth…")):
            view = cached_sweep_view(cfg.activation, capped.width, capped.depth, cfg.seed)
    except ValueError as e:
        show_refusal(e)
        return
    st.caption(
        _(text.SWEEP_CAPTION).format(
            width=capped.width, samples=SWEEP_SAMPLES, activation=activation_label(cfg.activation)
        )
    )
    cells = view.cells.assign(std_text=view.cells["std_text"].replace({"overflow": _("overflow")}))
    marked = view.marked.assign(label=view.marked["label"].map(lambda code: _(SCALE_LABELS[code])))
    chart = charts.sweep_heatmap(cells, marked, log_std_clip=LOG_STD_CLIP)
    st.altair_chart(chart, width="stretch")
    chart_downloads(chart, "sigma-depth-map")
    if cfg.batch_norm:
        st.caption(_(text.SWEEP_BATCH_NORM_NOTE))
    if view.clipped:
        st.caption(
            _(text.SWEEP_CLIP_NOTE).format(
                clip=LOG_STD_CLIP, clipped=view.clipped, cells=len(view.cells)
            )
        )


def render_layer_details(view: ForwardView, width: int) -> None:
    """The per-layer statistics, then the chosen initializer's formula. The table has the
    page's whole width: beside the formula, a 1,280-px window hid its last column in every
    language (its eight headings need 600-710 px)."""
    show_table(view.stats, STATS_COLUMNS, "layer-stats")
    numbers = view.stats.drop(columns="Layer").to_numpy(dtype=float)
    if not np.isfinite(numbers).all():
        st.caption(
            ":material/info: "
            + _(
                "∞ marks a value beyond the float range (an overflow), and None a value "
                "that could not be computed below one."
            )
        )
    st.markdown(_("**Initial weights:** {label}").format(label=initializer_label(view.initializer)))
    st.latex(view.initializer.formula)
    st.caption(
        _("Here Var(W) = {variance}, with n_in = {width} inputs per unit.").format(
            variance=f"{view.weight_variance:.3g}", width=f"{width:,}"
        )
    )
    render_frameworks(view)


@st.fragment
@guarded("activations")  # a fragment's own rerun is outside the section's guard
def render_frameworks(view: ForwardView) -> None:
    """The chosen initializer as PyTorch and Keras calls, and the traps in translating it,
    drawn once the reader opens them (a fragment: opening them reruns only this)."""
    expander = lazy_expander(FRAMEWORKS_OPEN, _("Same init in PyTorch / Keras"), ":material/code:")
    if expander is None:
        return
    with expander:
        st.caption(_(text.FRAMEWORKS_CAPTION))
        torch_col, keras_col = st.columns(2)
        with torch_col:
            st.markdown("**PyTorch**")
            torch_call = view.initializer.torch
            st.code(f"{text.TORCH_HEADER}\n{torch_call}", language="python", wrap_lines=True)
        with keras_col:
            st.markdown("**Keras**")
            keras_call = view.initializer.keras
            st.code(f"{text.KERAS_HEADER}\n{keras_call}", language="python", wrap_lines=True)
        pitfalls = "\n".join(f"- {pitfall}" for pitfall in text.pitfalls())
        st.markdown(_("**Pitfalls**") + "\n\n" + pitfalls)


def _dataset() -> core.Dataset:
    """MNIST for the race, showing a first download's progress and a broken folder's error."""
    slot = st.empty()

    def show(p: DownloadProgress) -> None:
        slot.progress(
            p.done_bytes / p.total_bytes,
            text=_("Downloading MNIST ({file}, {done} of {total} MB) from {mirror}").format(
                file=p.file,
                done=f"{p.done_bytes / 1e6:.1f}",
                total=f"{p.total_bytes / 1e6:.1f}",
                mirror=p.mirror,
            ),
        )

    with st.spinner(_("Loading MNIST…")):
        data, folder_error = load_dataset(show)
    slot.empty()
    if folder_error:
        # The reason names a path and a file format: shown as it is, as code, in every language.
        st.error(_("Your MNIST folder could not be used; the race uses the bundled sample. Why:"))
        st.code(folder_error, language=None, wrap_lines=True)
    why = (
        _("Full MNIST is not in use because {why}.").format(why=_(data.note)) if data.note else None
    )
    st.caption(_("**Data:** {source}.").format(source=text.data_source(data)), help=why)
    return data


_RACE_OFFERED = "_race_offered"  # set once a run of this session drew the Train button


@st.fragment
@guarded("training race")
def render_training() -> None:
    """The MNIST race: controls, a Train button, live curves, then the results table.

    A fragment, so that moving one of its controls or pressing Train reruns only this part.
    """
    speak()
    st.header(_("Training race on MNIST"))
    st.caption(_(text.TRAINING_CAPTION))
    race_preset_buttons()
    note = st.empty()  # filled once the controls say which preset, if any, is set
    cfg = training_controls()
    preset = active_race_preset()
    if preset is not None:
        note.info(
            _("**{source}.** Press Train, then notice: {note}").format(
                source=_(preset.source), note=_(preset.note)
            ),
            icon=":material/visibility:",
        )
    data = _dataset()
    refusal = training_over_budget(cfg)
    if not cfg.initializers:
        refusal = _("Choose at least one initializer to race.")
    clicked = st.button(
        _("Train"),
        key="train",
        type="primary",
        icon=":material/play_arrow:",
        disabled=bool(refusal),
    )
    if refusal:
        st.warning(refusal, icon=":material/block:")
    elif st.session_state.get(_RACE_OFFERED):
        # The race's worker processes start now, so that a click does not wait for them; not
        # on the page's first run, whose charts the browser is still drawing on the same cores.
        core.start_race_workers()
    st.session_state[_RACE_OFFERED] = True
    progress, chart = st.empty(), st.empty()
    results, inside = st.container(), st.empty()  # results first, the views inside below
    if clicked and not refusal:
        try:
            run_race(cfg, data, RacePlaces(progress, chart, inside))
        except QueueFull:
            progress.warning(
                _(text.QUEUE_FULL).format(waiting=RACES.max_waiting), icon=":material/group:"
            )
        except ValueError as e:
            show_refusal(e)
    run = stored_run()
    if run is not None:
        with results:
            render_run(run, cfg, chart)
        with inside.container():
            render_inside(run.telemetry, race_labels(run.config), inside_notes(run.config))
    # Here, last in the fragment: a race control reruns only the fragment, and the URL and
    # the link must follow it (a sidebar control reruns everything, this included).
    write_url()
    config_link()


def render_run(run: TrainRun, current: TrainConfig, chart: DeltaGenerator) -> None:
    """The kept race: its curves, then once it finished its table and distinct units per layer
    (else why it stopped)."""
    labels = race_labels(run.config)
    curves_frame = loss_frame(run.losses, labels)
    curves = charts.loss_chart(
        curves_frame, iterations=run.config.iterations, seeds=run.config.seeds, width=main_width()
    )
    chart.altair_chart(curves, width="stretch")
    if run.result is None:
        st.warning(
            _(
                "Stopped at step {step} of {iterations}: the page reran while training (a "
                "control outside the race changed). Press Train to run it again."
            ).format(step=f"{run.step:,}", iterations=f"{run.config.iterations:,}"),
            icon=":material/pause_circle:",
        )
        return
    with st.container(horizontal=True, gap="small"):
        chart_downloads(curves, "loss")
        table_download(curves_frame.rename(columns=_), "loss-curves")
    show_table(results_frame(run.result, labels), RESULT_COLUMNS, "race-results")
    diverged = diverged_labels(run.result, labels)
    if diverged:
        st.warning(
            _(
                "Diverged (the loss became NaN or infinite): {names}. A diverged network's "
                "curve stops at that step, and it gets no test accuracy."
            ).format(names=join_list(diverged)),
            icon=":material/warning:",
        )
    n = len(run.losses) * run.config.seeds
    caption = ngettext(
        "The {n} network trained in {seconds:.1f} s (the race's shared wall time, not a "
        "per-network measurement). Data: {source}.",
        "The {n} networks trained together, stacked and split over the CPU cores, in "
        "{seconds:.1f} s: that is the race's shared wall time, not a per-network measurement. "
        "Data: {source}.",
        n,
    )
    st.caption(caption.format(n=n, seconds=run.result.seconds, source=text.data_source(run.data)))
    units = charts.units_chart(units_frame(run.result, labels), width=main_width())
    st.altair_chart(units, width="stretch")
    chart_downloads(units, "distinct-units")
    st.caption(_(text.UNITS_CAPTION))
    if run.config != current:
        st.caption(
            ":material/history: "
            + _(
                "These results are from the last run; the controls above have changed since. "
                "Press Train to race the new settings."
            )
        )


@st.fragment
@guarded("about")
def render_about() -> None:
    """What the experiment shows and why, with references and the MNIST credit, and every
    initializer in both frameworks, each drawn once the reader opens it (a fragment: opening
    one reruns only this)."""
    about = lazy_expander(ABOUT_OPEN, _("About: what this shows, and why"), ":material/menu_book:")
    if about is not None:
        about.markdown(_(text.ABOUT))
    every = lazy_expander(
        ALL_FRAMEWORKS_OPEN, _("Every initializer in PyTorch and Keras"), ":material/table:"
    )
    if every is not None:
        with every:
            st.caption(_(text.FRAMEWORKS_CAPTION))
            frameworks = framework_frame(initializer_label).rename(columns=_)
            st.table(frameworks, hide_index=True)  # static: long calls wrap, not truncate
            table_download(frameworks, "frameworks")
    st.caption(
        _(text.LIMITS_NOTE).format(multiple=TRAIN_BUDGET_MULTIPLE, max_iters=MAX_ITERATIONS)
        + " "
        + ngettext(
            "One race trains at a time; the next ones wait in line, in order, and each waiting "
            "page shows its place.",
            "At most {races} races train at once; the next ones wait in line, in order, and "
            "each waiting page shows its place.",
            RACES.slots,
        ).format(races=RACES.slots)
    )


def main() -> None:
    url_notices = read_url()  # first: it may set the language
    # The notices are shown once; the rerun that the page's measured width starts right after
    # the page opens repeats them, so that it does not erase them.
    shown_before = st.session_state.pop(URL_NOTICES_KEY, [])
    url_notices = url_notices or (shown_before if rerun_for_width() else [])
    st.session_state[URL_NOTICES_KEY] = url_notices
    speak()
    st.set_page_config(
        page_title=_("Init Lab: why weight initialization matters"),
        page_icon=":material/stacked_bar_chart:",
        layout="wide",
    )
    measure_main_width()  # first, so that a new width reruns the page before it draws much
    draw(LANGUAGE, st.sidebar)
    speak()  # the language just chosen, if it changed
    st.title("Init Lab")
    st.markdown(_(text.INTRO))
    if url_notices:
        st.warning(
            _("Some of this link's settings could not be used as they were:")
            + "\n\n"
            + "\n".join(f"- {notice}" for notice in url_notices),
            icon=":material/link_off:",
        )
    cfg = sidebar_controls()
    st.sidebar.caption(
        _(
            "The page's URL holds every setting: copy it, or the link at the end of the "
            "training race, to share this view."
        )
    )
    render_activations(cfg)
    st.divider()
    render_training()
    st.divider()
    render_about()


if __name__ == "__main__":
    main()
