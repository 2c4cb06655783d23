r"""The forward that stands in for a diagonal module's (``rnngrad.MinGRU``, ``MinLSTM``, ``LRU``)
while a model is profiled.

Each layer k of such a module is one linear scan over time,

.. math::

    h^{(k)}_t = a^{(k)}_t \odot h^{(k)}_{t-1} + b^{(k)}_t                             \tag{1}

whose backward computes the total gradient δ_t = ∂L/∂h^{(k)}_t (through time and through the
layers above) as its own intermediate: δ_t = g_t + ā_{t+1} ⊙ δ_{t+1}. So the profiled forward
is the module's forward with each layer's scan replaced by one that hands δ to the recorder; the
values, and the work, are those of the module's own forward and backward.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnngrad.profiler._layer_io import LayerKey
from rnngrad.profiler._layout import SequenceLayout
from rnngrad.profiler._recorder import Recorder
from rnngrad.scan import recorded_linear_scan


def profiled_diagonal_forward(module, name: str, recorder: Recorder, anchor: Tensor, weight_grads: bool,
                              input: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
    """Drop-in for ``module.forward(input, h0)`` (a ``DiagonalStack``) that records every layer.

    ``weight_grads`` is accepted for the profiler's common signature: the parameters' gradients
    come from the scans' ordinary backward either way."""
    x, unbatched = module._time_major_input(input)  # (T, B, I)
    starts = module._checked_h0(h0, x.shape[1], unbatched)  # (L, B, H) or None
    steps, batch = x.shape[0], x.shape[1]
    recorder.begin_module(name, module, SequenceLayout(steps, batch, None, x.device), module.state_dtype, x.device)
    last_states = []
    for layer in range(module.num_layers):
        a, b = module.layer_cell(layer).coefficients(x)  # (T, B, H) each, (1)
        key = LayerKey(name, layer, 0)
        record = lambda delta, key=key: recorder.record_backward(key, delta, None)  # noqa: E731  δ, (T, B, H)
        states = recorded_linear_scan(a, b, None if starts is None else starts[layer], record, anchor)  # (1)
        last_states.append(states[-1])
        x = module.layer_output(states)  # what layer k passes up, (T, B, H)
    h_n = torch.stack(last_states)  # (L, B, H)
    if unbatched:
        return x.squeeze(1), h_n.squeeze(1)
    return (x.transpose(0, 1) if module.batch_first else x), h_n
