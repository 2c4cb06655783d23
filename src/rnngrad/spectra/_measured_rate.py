"""The gradient profiler's measured decay rate on the model and data of a spectrum, from real
backward passes, to set beside the predicted λ_1."""

from __future__ import annotations

import math

import torch
from torch import nn

from rnngrad.layer_inputs import LAYERED
from rnngrad.profiler import profile


def measured_log_rate(model: nn.Module, inputs: torch.Tensor, layer: int, direction: int) -> float | None:
    """The growth rate per step of ‖dL/dh_t‖ back through time, measured by the profiler.

    L is the sum of the final hidden state h_n of ``layer`` and ``direction``, so
    dL/dh_t = (∂h_T/∂h_t)ᵀ 1 and its rate compares with λ_1. Sign as λ_1: < 0 vanishing. The
    model runs in eval mode (no dropout between layers) and is left as found. None for cells,
    which the profiler does not take, or when the fit is not finite.
    """
    if not isinstance(model, LAYERED):
        return None
    index = layer * (2 if model.bidirectional else 1) + direction  # row of h_n
    dtype = model.weight_hh_l0.dtype
    sequence = inputs.to(dtype).transpose(0, 1) if model.batch_first and inputs.dim() == 3 else inputs.to(dtype)

    def loss_fn(output) -> torch.Tensor:
        final = output[1][0] if isinstance(model, nn.LSTM) else output[1]  # h_n, (L·D, [B,] H)
        return final[index].sum()

    was_training = model.training
    try:
        model.eval()
        result = profile(model, (sequence,), loss_fn)
    finally:
        model.train(was_training)
    rate = -result.decay_rate(None, layer, direction)  # the profiler's ρ > 0 means vanishing
    return rate if math.isfinite(rate) else None
