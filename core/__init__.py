"""Init Lab's NumPy core: every computation of the app, in plain NumPy, no UI. The Streamlit
app, the tests and a notebook all call this API.

The package in four parts and two shared modules:

    core/network/   what a network is: initializers (`initializers`, `lsuv`), activations,
                    batch norm, the stacked MLP with its one forward and backward pass (`mlp`),
                    the loss and the optimizers
    core/forward/   experiments on random inputs: the forward experiment (`forward_pass`), the
                    σ × depth map (`sweep`), variance-propagation theory, the diagnosis of the
                    layers, symmetry
    core/race/      the MNIST race: `training` (train_compare), `telemetry`, `summary` and
                    `smoothing` (what a race is judged by), and where it runs: worker
                    processes (`procs`, `shared`), or threads (`workers` chooses)
    core/data/      MNIST: loading, verified download and cache (`mnist`), IDX files, `Dataset`
    core/validation.py, core/types.py, core/parallel.py   argument checks and budgets, array
                    types, threads and the scoped BLAS limit

Importing core changes nothing global. Its experiments hold BLAS to one thread while they run
(`core.parallel.one_blas_thread`) and give the process its own setting back: core's products
are small, so BLAS threads gain little on an idle machine and, on a busy one, spin-wait for a
core held by another process (a 100×100 product measured 30-150× slower). A race runs its
workers as processes instead (`core.race.workers`).
"""

from core.data.dataset import Dataset
from core.data.mnist import load_mnist, load_sample
from core.forward import forward_pass, sweep
from core.forward.diagnosis import Diagnosis, diagnose
from core.forward.forward_pass import ForwardResult, LayerStats
from core.forward.sweep import MARKED_SCALES, DepthSweep
from core.network.activations import ACTIVATIONS, Activation, get_activation
from core.network.initializers import (
    INITIALIZERS,
    Initializer,
    constant,
    get_initializer,
    normal_std,
    variance_scaling,
)
from core.network.optim import OPTIMIZERS
from core.parallel import with_one_blas_thread
from core.race.smoothing import smooth_curve
from core.race.summary import Summary, summarize
from core.race.telemetry import Telemetry
from core.race.training import TrainProgress, TrainResult, start_race_workers, train_compare

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
    "start_race_workers",
    "summarize",
    "train_compare",
    "variance_scaling",
]
