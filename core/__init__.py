"""Init Lab's NumPy core: initializers, activations, the forward-pass and training experiments,
and MNIST data. Plain NumPy, no UI: the Streamlit app and the tests both call this API.

Importing core changes nothing global. Its experiments hold BLAS to one thread while they run
(`core.parallel.one_blas_thread`) and give the process its own setting back: core's products
are small, so BLAS threads gain little on an idle machine and, on a busy one, spin-wait for a
core held by another process (a 100×100 product measured 30-150× slower). Core runs its
independent work in Python threads instead (`core.parallel`).
"""

from core import forward_pass, sweep
from core.activations import ACTIVATIONS, Activation, get_activation
from core.dataset import Dataset
from core.diagnosis import Diagnosis, diagnose
from core.forward_pass import ForwardResult, LayerStats
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
from core.parallel import with_one_blas_thread
from core.smoothing import smooth_curve
from core.summary import Summary, summarize
from core.sweep import MARKED_SCALES, DepthSweep
from core.telemetry import Telemetry
from core.training import TrainProgress, TrainResult, train_compare

# The public experiments run under the one-thread limit (train_compare sets it itself).
activation_histograms = with_one_blas_thread(forward_pass.activation_histograms)
depth_sweep = with_one_blas_thread(sweep.depth_sweep)

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
    "Telemetry",
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
]
