"""Exact recurrent cells with analytic step Jacobians: RNN, LSTM and GRU parameter-compatible
with torch.nn, and the diagonal recurrences minGRU, minLSTM and LRU, whose step Jacobian is
diag(a_t)."""

from rnngrad.cells._common import RecurrentCell
from rnngrad.cells._diagonal import DiagonalCell
from rnngrad.cells.from_torch import from_torch
from rnngrad.cells.gru import GRUCell
from rnngrad.cells.lru import LRUCell
from rnngrad.cells.lstm import LSTMCell
from rnngrad.cells.min_gru import MinGRUCell
from rnngrad.cells.min_lstm import MinLSTMCell
from rnngrad.cells.projected_lstm import ProjectedLSTMCell
from rnngrad.cells.rnn import RNNCell

__all__ = ["DiagonalCell", "GRUCell", "LRUCell", "LSTMCell", "MinGRUCell", "MinLSTMCell", "ProjectedLSTMCell", "RNNCell", "RecurrentCell",
           "from_torch"]
