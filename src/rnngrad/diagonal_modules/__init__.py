"""Sequence modules MinGRU, MinLSTM and LRU, shaped as torch.nn.GRU and run on
:func:`rnngrad.scan.linear_scan`: one batched product and one scan per layer, no loop over time."""

from rnngrad.diagonal_modules._modules import LRU, MinGRU, MinLSTM
from rnngrad.diagonal_modules._stack import DiagonalStack

__all__ = ["DiagonalStack", "LRU", "MinGRU", "MinLSTM"]
