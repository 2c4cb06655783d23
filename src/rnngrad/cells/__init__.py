"""Exact recurrent cells with analytic step Jacobians, parameter-compatible with torch.nn."""

from rnngrad.cells._common import RecurrentCell
from rnngrad.cells.from_torch import from_torch
from rnngrad.cells.gru import GRUCell
from rnngrad.cells.lstm import LSTMCell
from rnngrad.cells.rnn import RNNCell

__all__ = ["GRUCell", "LSTMCell", "RNNCell", "RecurrentCell", "from_torch"]
