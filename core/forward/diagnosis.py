"""What the forward experiment's layers show, as a code and the numbers behind it.

Core decides, the page words it (in the reader's language): `diagnose` applies the rules
below in order and returns which one held, with the layer and the figures a sentence needs.

1. overflow: a layer's values left the float range (the layers before it are reported);
2. symmetric: the last layer's activations are all equal (std 0), so its units are one;
3. saturated: a bounded activation with ≥ 25 % of the last layer where |f'| < 5 % of its max;
4. dead: ≥ 25 % of the last layer's units inactive for every sample;
5. collapsed: a bounded activation whose last layer's std is < 2 % of its output range;
6. vanishing / exploding: the std shrinks / grows by more than ×0.8 / ×1.25 per layer;
7. steady: none of the above.

References: the book's §6.2.2; Glorot & Bengio 2010 (saturation); He et al. 2015 (§2.2).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from core.forward.forward_pass import ForwardResult
from core.validation import InvalidTypeError

Code = Literal[
    "overflow", "symmetric", "saturated", "dead", "collapsed", "vanishing", "exploding", "steady"
]
SATURATED_SHARE = 0.25
DEAD_SHARE = 0.25
COLLAPSED_RANGE_SHARE = 0.02
VANISHING_PER_LAYER = 0.8
EXPLODING_PER_LAYER = 1.25


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """Which rule held (`code`) at which `layer`, with the figures a sentence needs:
    `first_std` and `last_std` (layer 1 and `layer`), `ratio` = last / first and
    `per_layer` = ratio ** (1 / (layer − 1)), both inf where layer 1 has no spread; `mean`
    of the last layer; `share`, the
    saturated or dead fraction (0 where the rule has none)."""

    code: Code
    layer: int
    first_std: float = float("nan")
    last_std: float = float("nan")
    ratio: float = float("nan")
    per_layer: float = float("nan")
    mean: float = float("nan")
    share: float = 0.0


def diagnose(result: ForwardResult) -> Diagnosis:
    """The first of the module's rules that `result` meets."""
    if not isinstance(result, ForwardResult):
        raise InvalidTypeError(
            f"result must be a ForwardResult from activation_histograms, got {result!r:.80}"
        )
    if result.overflow_layer is not None:
        return Diagnosis("overflow", result.overflow_layer)
    first, last = result.layers[0], result.layers[-1]
    act = result.activation
    n = last.layer
    figures = {"first_std": first.std, "last_std": last.std, "mean": last.mean}
    if last.std == 0:
        return Diagnosis("symmetric", n, **figures)
    bounded = act.low is not None and act.high is not None
    if bounded and last.saturated >= SATURATED_SHARE:
        return Diagnosis("saturated", n, **figures, share=last.saturated)
    if last.dead >= DEAD_SHARE:
        return Diagnosis("dead", n, **figures, share=last.dead)
    if bounded and last.std < COLLAPSED_RANGE_SHARE * (act.high - act.low):  # type: ignore[operator]
        return Diagnosis("collapsed", n, **figures)
    # A first layer of one value (saturated to a float's end, then batch-normalized back to a
    # spread) grew without bound: inf, the float's own mark, never a division by zero.
    ratio = last.std / first.std if first.std > 0 else math.inf
    per_layer = ratio ** (1 / max(n - 1, 1))
    trend = {"ratio": ratio, "per_layer": per_layer}
    if per_layer < VANISHING_PER_LAYER:
        return Diagnosis("vanishing", n, **figures, **trend)
    if per_layer > EXPLODING_PER_LAYER:
        return Diagnosis("exploding", n, **figures, **trend)
    return Diagnosis("steady", n, **figures, **trend)
