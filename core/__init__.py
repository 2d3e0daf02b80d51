"""Init Lab's NumPy core: initializers, activations, the forward-pass and training experiments,
and MNIST data. Plain NumPy, no UI: the Streamlit app and the tests both call this API."""

from core.activations import ACTIVATIONS, Activation, get_activation
from core.dataset import Dataset
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
from core.training import TrainProgress, TrainResult, train_compare

__all__ = [
    "ACTIVATIONS",
    "INITIALIZERS",
    "OPTIMIZERS",
    "Activation",
    "Dataset",
    "ForwardResult",
    "Initializer",
    "LayerStats",
    "TrainProgress",
    "TrainResult",
    "activation_histograms",
    "constant",
    "get_activation",
    "get_initializer",
    "load_mnist",
    "load_sample",
    "normal_std",
    "smooth_curve",
    "train_compare",
    "variance_scaling",
    "verdict",
]
