"""The live training race: run core.train_compare, draw its progress, keep the run.

The run is kept in `st.session_state` after every progress report, not only at the end:
if the page reruns mid-race (the user moved a sidebar control), Streamlit stops the script,
and the curves drawn so far stay on screen, marked as stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

import core
from ui import charts, frames, race_queue
from ui.config import TrainConfig
from ui.i18n import _, ngettext
from ui.inside_view import render_inside
from ui.labels import initializer_label
from ui.page_width import main_width

RUN_KEY = "train_run"
# The progress bar moves at most every second: each move starts the bar's half-second
# animation, whose frames the browser draws on the cores the race trains on. At every report
# (about every 0.12 s in the default race) the bar never stopped moving, and the race took
# 10.6 s from click to table against 9.3 s with a move a second (medians of 3, side by side
# on two cores; the browser's renderer used 7.3 against 5.2 CPU-s).
BAR_SECONDS = 1.0
# The loss chart is redrawn at most every 2 s. Every redraw is work for the server and the
# browser, which share the cores with the race's workers: in the browser, the default race
# took about 20 % longer with a redraw every second than with none (measured side by side on
# two cores).
REDRAW_SECONDS = 2.0
# The three views inside the race are far heavier for the browser (three faceted charts, the
# heat map thousands of cells): drawn once the race has trained 8 s, then every 8 s, so that a
# shorter race (the default one) shows them once, when it ends, with every checkpoint. Drawn
# at the first report, they held a checkpoint or two and kept the browser busy 0.6-0.8 s as
# the race started: 8.45 s from click to table against 8.0 s (medians of 4, interleaved, on
# two cores). Every 4 s, the browser had spent 1.3 s more on them than every 8 s.
INSIDE_REDRAW_SECONDS = 8.0
REPORTS_PER_RUN = 50


@dataclass(frozen=True, eq=False)
class TrainRun:
    """A race as far as it got: `result` is None until it finished."""

    config: TrainConfig
    losses: dict[str, np.ndarray]  # (seeds, steps so far) per initializer
    telemetry: dict[str, core.Telemetry]  # the checkpoints so far, per initializer
    step: int
    elapsed: float
    data: core.Dataset  # the digits it trained on (shared, read-only: no copy is kept)
    result: core.TrainResult | None = None


@dataclass(frozen=True)
class RacePlaces:
    """Where a race draws while it runs: its progress bar, its loss chart and the views inside
    it (the page lays them out; the race fills them)."""

    progress: DeltaGenerator
    chart: DeltaGenerator
    inside: DeltaGenerator


def race_labels(config: TrainConfig) -> dict[str, str]:
    """The race's initializers as the page names them, in the race's order."""
    return {name: initializer_label(name) for name in config.initializers}


def stored_run() -> TrainRun | None:
    return st.session_state.get(RUN_KEY)


def progress_every(cfg: TrainConfig) -> int:
    """Steps between two of the race's reports (and telemetry checkpoints): about
    `REPORTS_PER_RUN` a race."""
    return max(1, cfg.iterations // REPORTS_PER_RUN)


def progress_text(step: int, iterations: int, elapsed: float) -> str:
    return _("Training: step {step} of {iterations} · {seconds} s").format(
        step=f"{step:,}", iterations=f"{iterations:,}", seconds=f"{elapsed:.1f}"
    )


def run_race(cfg: TrainConfig, data: core.Dataset, places: RacePlaces) -> TrainRun:
    """Train `cfg` on `data`, drawing into `places`, once the demo's race queue lets it start
    (meanwhile `places.progress` shows the place in line).

    Raises core's ValueError for bad settings and `race_queue.QueueFull` when the line is
    full (the caller shows either).
    """

    queue = race_queue.RACES  # read at call time: tests give it a queue of their own

    def waiting(place: int, seconds: float) -> None:
        places.progress.info(
            ngettext(
                "A race is training on this demo right now. Yours is number {place} in line "
                "and should start in about {seconds} s; it starts by itself.",
                "{running} races are training on this demo right now. Yours is number {place} "
                "in line and should start in about {seconds} s; it starts by itself.",
                queue.slots,
            ).format(running=queue.slots, place=place, seconds=f"{seconds:.0f}"),
            icon=":material/hourglass_top:",
        )

    with queue.join(waiting):
        return _train(cfg, data, places)


def _train(cfg: TrainConfig, data: core.Dataset, places: RacePlaces) -> TrainRun:
    progress, chart, inside = places.progress, places.chart, places.inside
    labels = race_labels(cfg)
    bar = progress.progress(0.0, text=progress_text(0, cfg.iterations, 0.0))
    last_bar = last_draw = 0.0
    last_inside = time.perf_counter()  # the first views inside: INSIDE_REDRAW_SECONDS in

    def on_progress(p: core.TrainProgress) -> None:
        nonlocal last_bar, last_draw, last_inside
        run = TrainRun(cfg, p.losses, p.telemetry, p.step, p.elapsed, data)
        st.session_state[RUN_KEY] = run
        now = time.perf_counter()
        if now - last_bar >= BAR_SECONDS:
            last_bar = now
            bar.progress(p.step / p.iterations, text=progress_text(p.step, p.iterations, p.elapsed))
        if now - last_draw >= REDRAW_SECONDS:
            last_draw = now
            curves = frames.loss_frame(p.losses, labels)
            chart.altair_chart(
                charts.loss_chart(
                    curves, iterations=p.iterations, seeds=cfg.seeds, width=main_width()
                ),
                width="stretch",
            )
        if now - last_inside >= INSIDE_REDRAW_SECONDS:
            last_inside = now
            with inside.container():
                render_inside(p.telemetry, labels, {}, live=True)

    result = core.train_compare(
        **cfg.train_compare_kwargs(),  # type: ignore[arg-type]
        data=data,
        on_progress=on_progress,
        progress_every=progress_every(cfg),
    )
    progress.empty()
    run = TrainRun(
        cfg, result.losses, result.telemetry, cfg.iterations, result.seconds, data, result
    )
    st.session_state[RUN_KEY] = run
    return run
