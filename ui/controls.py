"""Where the settings' widgets sit on the page, and the preset buttons; configs out.

Which widgets exist, their ranges and defaults are the settings table's (`ui.settings`);
this module only lays them out and turns their values into a frozen config.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from ui import presets
from ui.config import ForwardConfig, TrainConfig, forward_config, train_config
from ui.i18n import _
from ui.settings import FORWARD, FWD, RACE
from ui.widgets import draw

DRAWN_BY_VIEWS = ("view", "sweep_depth")  # forward settings drawn in the main area, not here


def sidebar_controls() -> ForwardConfig:
    """The forward-pass experiment's controls, in the sidebar; a setting that does not apply
    (the custom std of a registry initializer) is not drawn and keeps its default."""
    sb = st.sidebar
    sb.header(_("Activations: settings"))
    values: dict[str, object] = {}
    for setting in FORWARD:
        if setting.name in DRAWN_BY_VIEWS:
            continue
        applies = (
            setting.applies_when is None
            or values.get(setting.applies_when[0]) == (setting.applies_when[1])
        )
        values[setting.name] = draw(setting, sb) if applies else setting.default
    return forward_config(values)


def sweep_depth_control() -> int:
    """The σ × depth map's own control: how deep its networks go."""
    return int(draw(FWD["sweep_depth"]))


def training_controls() -> TrainConfig:
    """The training race's controls, in the main area next to its chart: the initializers
    on their own row, the rest four to a row."""
    values = {RACE[0].name: draw(RACE[0])}
    columns = st.columns(4)
    for i, setting in enumerate(RACE[1:]):
        values[setting.name] = draw(setting, columns[i % 4])
    return train_config(values)


def preset_buttons() -> None:
    """One click to each of the book's and the papers' figures (sets the sidebar and the tab)."""
    _button_row(_("**The book's settings:**"), presets.BOOK_PRESETS)
    _button_row(_("**The papers' settings:**"), presets.PAPER_PRESETS)


def race_preset_buttons() -> None:
    """One click to each training figure (sets the race's controls; Train runs it)."""
    _button_row(_("**Races to reproduce:**"), presets.RACE_PRESETS)


def active_preset() -> presets.Preset | None:
    """The forward figure on screen (its settings and its tab), if any."""
    return presets.active(presets.PRESETS, st.session_state)  # type: ignore[return-value]


def active_race_preset() -> presets.RacePreset | None:
    """The race the controls are set to, if a preset's."""
    return presets.active(presets.RACE_PRESETS, st.session_state)  # type: ignore[return-value]


def _button_row(title: str, row_presets: Sequence[presets.Preset | presets.RacePreset]) -> None:
    """A titled row of one button per preset; a click applies it before the rerun."""
    row = st.container(horizontal=True, gap="small")
    row.markdown(title)
    for preset in row_presets:
        row.button(
            _(preset.label),
            key=preset.key,
            on_click=presets.apply,
            args=(preset,),
            type="secondary",
        )
