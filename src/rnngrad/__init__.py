"""rnngrad: show, measure and explain how gradients flow back through time in RNNs.

The public API is re-exported here; everything else is an implementation detail.
"""

from rnngrad._version import __version__
from rnngrad.activations import Activation, activation_names, get_activation
from rnngrad.cells import GRUCell, LRUCell, LSTMCell, MinGRUCell, MinLSTMCell, ProjectedLSTMCell, RNNCell, from_torch
from rnngrad.diagonal_modules import LRU, MinGRU, MinLSTM
from rnngrad.errors import InputError
from rnngrad.jacobians import JacobianThroughTime, jacobian_through_time
from rnngrad.profiler import GradientProfile, profile, track
from rnngrad.scan import linear_scan
from rnngrad.spectra import Spectrum, spectrum
from rnngrad.training import TrainConfig, TrainResult, train


__all__ = [
    "Activation",
    "GRUCell",
    "GradientProfile",
    "InputError",
    "JacobianThroughTime",
    "LRU",
    "LRUCell",
    "LSTMCell",
    "MinGRU",
    "MinGRUCell",
    "MinLSTM",
    "MinLSTMCell",
    "ProjectedLSTMCell",
    "RNNCell",
    "Spectrum",
    "TrainConfig",
    "TrainResult",
    "activation_names",
    "from_torch",
    "get_activation",
    "jacobian_through_time",
    "linear_scan",
    "profile",
    "spectrum",
    "track",
    "train",
]
