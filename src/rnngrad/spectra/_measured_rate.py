"""The gradient profiler's measured decay rate on the model and data of a spectrum, from real
backward passes, to set beside the predicted λ_1."""

from __future__ import annotations

import math

import torch
from torch import nn

from rnngrad.diagonal_modules import DiagonalStack
from rnngrad.layer_inputs import LAYERED
from rnngrad.profiler import profile


def measured_log_rate(model: nn.Module, inputs: torch.Tensor, layer: int, direction: int) -> float | None:
    """The growth rate of ‖dL/dh_t‖ back through time in nats per step, measured by the profiler.

    It is −:meth:`~rnngrad.profiler.GradientProfile.decay_rate` (the same least-squares fit over
    every lag) of ``layer`` and ``direction`` for L = Σ_j h_n,j, the sum of that layer's own
    final hidden state, so dL/dh_t = (∂h_T/∂h_t)ᵀ 1 and its rate compares with λ_1. Sign as
    λ_1: < 0 vanishing. For the top layer (and a one-layer module) this L is the default loss
    of ``rnngrad profile`` (``--loss last``, Σ_j h_T,j of the top layer's output), so the two
    agree up to the sign; for a lower layer that loss also reaches h_t through the layers
    above, and its rate differs. The model runs in eval mode (no dropout between layers) and is
    left as found. For a MinGRU, MinLSTM or LRU the same, with L = Σ_j Re h_n,j. None for a
    single cell (the profiler profiles modules), or when the fit is not finite.
    """
    if not isinstance(model, LAYERED + (DiagonalStack,)):
        return None
    index = layer * (2 if getattr(model, "bidirectional", False) else 1) + direction  # row of h_n
    dtype = next(model.parameters()).dtype
    sequence = inputs.to(dtype).transpose(0, 1) if model.batch_first and inputs.dim() == 3 else inputs.to(dtype)

    def loss_fn(output) -> torch.Tensor:
        final = output[1][0] if isinstance(model, nn.LSTM) else output[1]  # h_n, (L·D, [B,] H)
        final = final[index]
        return (final.real if final.is_complex() else final).sum()  # the LRU's h is complex

    was_training = model.training
    try:
        model.eval()
        result = profile(model, (sequence,), loss_fn)
    finally:
        model.train(was_training)
    rate = -result.decay_rate(None, layer, direction)  # the profiler's ρ > 0 means vanishing
    return rate if math.isfinite(rate) else None
