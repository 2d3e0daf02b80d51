"""How the page names core's registry entries, in the reader's language.

Core names things by key (`he_normal`, `relu`, `adam`); these are their labels on the page,
marked for the catalogs and translated where they are shown. A registry entry without a
label here fails a test, so a new initializer or activation cannot reach the page unnamed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType

import core
from ui.i18n import N_, _

INITIALIZER_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "zeros": N_("Zeros (W = 0)"),
        "std_0.01": N_("std = 0.01 (the book's first try)"),
        "std_1": N_("std = 1"),
        "lecun_normal": N_('LeCun normal √(1/n): the book\'s "Xavier"'),
        "lecun_uniform": N_("LeCun uniform"),
        "glorot_normal": N_("Glorot/Xavier normal (fan_in + fan_out)"),
        "glorot_uniform": N_("Glorot/Xavier uniform (fan_in + fan_out)"),
        "he_normal": N_("He/Kaiming normal √(2/n)"),
        "he_uniform": N_("He/Kaiming uniform"),
        "orthogonal": N_("Orthogonal (Saxe et al.)"),
        "lsuv": N_("LSUV: orthogonal, then unit variance per layer on data (Mishkin & Matas)"),
        "torch_default": N_('PyTorch Linear default U(±1/√n), Glorot\'s "standard"'),
    }
)
ACTIVATION_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "sigmoid": N_("Sigmoid"),
        "tanh": N_("tanh"),
        "relu": N_("ReLU"),
        "leaky_relu": N_("Leaky ReLU (slope 0.01)"),
        "elu": N_("ELU"),
        "selu": N_("SELU"),
        "gelu": N_("GELU"),
        "softsign": N_("Softsign"),
        "linear": N_("Linear (identity)"),
    }
)
OPTIMIZER_LABELS: Mapping[str, str] = MappingProxyType(
    {"sgd": N_("SGD"), "momentum": N_("Momentum"), "adam": N_("Adam")}
)
CUSTOM_LABEL = N_("Custom std")
# The σ × depth map's marked scales (`core.MARKED_SCALES`), as the map labels them.
SCALE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "lecun": N_("1/√n (LeCun, the book's Xavier)"),
        "he": N_("√(2/n) (He)"),
        "tanh_gain": N_("(5/3)/√n (tanh's gain)"),
    }
)


def initializer_label(init: str | core.Initializer) -> str:
    """A registry key's label (core's own, untranslated, for a scheme this page has no words
    for yet), or a custom initializer's (`core.normal_std`, `core.constant`) from its own
    numbers."""
    name = init if isinstance(init, str) else init.name
    if name in INITIALIZER_LABELS:
        return _(INITIALIZER_LABELS[name])
    spec = core.get_initializer(init)
    if name in core.INITIALIZERS:  # a new row of the registry, not worded here yet
        return spec.label
    if spec.distribution == "constant":
        return _("Constant W = {value:g}").format(value=spec.value)
    return _("std = {std:g}").format(std=math.sqrt(spec.variance(1, 1)))


def activation_label(name: str) -> str:
    return _(ACTIVATION_LABELS[name])


def optimizer_label(name: str) -> str:
    return _(OPTIMIZER_LABELS[name])
