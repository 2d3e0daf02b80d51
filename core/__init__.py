"""Init Lab's NumPy core: initializers, activations, the forward-pass and training experiments,
and MNIST data. Plain NumPy, no UI: the Streamlit app and the tests both call this API.

Importing core limits BLAS to one thread for the whole process: core's products are small,
so BLAS threads gain little on an idle machine and, on a busy one, spin-wait for a core held
by another process (a 100×100 product measured 30-150× slower). Core runs its independent
work in Python threads instead (`core.parallel`).
"""

import numpy as np  # loaded first: threadpoolctl only sees the BLAS of loaded libraries
from threadpoolctl import threadpool_limits

threadpool_limits(limits=1, user_api="blas")
del np

# ruff: noqa: E402 (the limit above must be set before any BLAS call of the modules below)

from core.activations import ACTIVATIONS, Activation, get_activation
from core.dataset import Dataset
from core.diagnosis import Diagnosis, diagnose
from core.forward_pass import ForwardResult, LayerStats, activation_histograms, verdict
from core.initializers import (
    INITIALIZERS,
    Initializer,
    constant,
    get_initializer,
    normal_std,
    variance_scaling,
)
from core.mnist import load_mnist, load_sample
from core.optim import OPTIMIZERS
from core.smoothing import smooth_curve
from core.summary import Summary, summarize
from core.sweep import MARKED_SCALES, DepthSweep, depth_sweep
from core.training import TrainProgress, TrainResult, train_compare

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "MARKED_SCALES",
    "OPTIMIZERS",
    "Activation",
    "Dataset",
    "DepthSweep",
    "Diagnosis",
    "ForwardResult",
    "Initializer",
    "LayerStats",
    "Summary",
    "TrainProgress",
    "TrainResult",
    "activation_histograms",
    "constant",
    "depth_sweep",
    "diagnose",
    "get_activation",
    "get_initializer",
    "load_mnist",
    "load_sample",
    "normal_std",
    "smooth_curve",
    "summarize",
    "train_compare",
    "variance_scaling",
    "verdict",
]
