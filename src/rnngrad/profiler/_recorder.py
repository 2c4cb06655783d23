"""Collects what one profiled forward and backward pass produce, then builds the profile.

The forward registers each recurrent module as it is called (that order is ``modules``) and
the forget-gate statistics of each LSTM layer; the reverse scans hand in δh_t and δc_t; any
check may mark the first inf/NaN. Layers the backward never reached (the loss does not depend
on them) get zero gradients.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from rnngrad.errors import InputError
from rnngrad.profiler._layer_io import LayerKey, LayerSpec
from rnngrad.profiler._layout import SequenceLayout
from rnngrad.profiler.gradient_profile import (
    GradientProfile,
    LayerRecord,
    ModuleRecord,
    NonFiniteMark,
)


@dataclass
class _ModuleCall:
    record: ModuleRecord
    layout: SequenceLayout
    hidden_shape: tuple[int, int, int]  # (T, B, H_out)
    cell_shape: tuple[int, int, int] | None  # (T, B, H), LSTM only
    dtype: torch.dtype
    device: torch.device


class Recorder:
    """Receives the records of one profiled pass; :meth:`build` turns them into a profile."""

    def __init__(self) -> None:
        self._calls: dict[str, _ModuleCall] = {}
        self._forget: dict[LayerKey, tuple[Tensor, Tensor]] = {}
        self._grads: dict[LayerKey, tuple[Tensor, Tensor | None]] = {}
        self._nonfinite: NonFiniteMark | None = None

    def begin_module(self, name: str, module: nn.Module, layout: SequenceLayout,
                     dtype: torch.dtype, device: torch.device) -> None:
        """Register a recurrent module's call; a second call of the same module is refused."""
        if name in self._calls:
            raise InputError(
                f"model: expected each recurrent module to be called once per forward pass, but "
                f"{name or type(module).__name__!r} was called again; profile one call at a time"
            )
        # a torch.nn RNN/LSTM/GRU (its mode, proj_size, bidirectional) or a diagonal module
        kind = getattr(module, "mode", type(module).__name__)
        hidden_out = getattr(module, "proj_size", 0) or module.hidden_size
        directions = 2 if getattr(module, "bidirectional", False) else 1
        steps, batch = layout.steps, layout.batch
        self._calls[name] = _ModuleCall(
            ModuleRecord(name, kind, module.num_layers, directions, layout.lengths()),
            layout,
            (steps, batch, hidden_out),
            (steps, batch, module.hidden_size) if kind == "LSTM" else None,
            dtype,
            device,
        )

    def record_forget_gates(self, spec: LayerSpec, unit_mean: Tensor, log_product: Tensor) -> None:
        """Forget-gate statistics in scan order (``_summaries.forget_gate_statistics``): the mean
        gate per step and sequence ``(T, B)`` and the log carousel product ``(B, H)``."""
        layout = spec.layout
        unit_mean = layout.scan_order(unit_mean.unsqueeze(2), spec.reverse).squeeze(2)  # (T, B)
        valid_rows = layout.batch if layout.full else (~layout.padding().squeeze(2)).sum(1).clamp_min(1)
        self._forget[spec.key] = (unit_mean.sum(1) / valid_rows, log_product)

    def record_backward(self, key: LayerKey, hidden_grad: Tensor, cell_grad: Tensor | None) -> None:
        """δh_t ``(T, B, H_out)`` and δc_t ``(T, B, H)`` in time order."""
        self._grads[key] = (hidden_grad, cell_grad)

    def mark_nonfinite(self, quantity: str, key: LayerKey | None = None, step: int | None = None) -> None:
        """Keep the first inf/NaN seen; later ones are consequences."""
        if self._nonfinite is None:
            if key is None:
                self._nonfinite = NonFiniteMark(quantity)
            else:
                self._nonfinite = NonFiniteMark(quantity, key.module, key.layer, key.direction, step)

    def build(self, loss: float, unsupported_modules: list[str]) -> GradientProfile:
        """The profile of everything recorded."""
        modules = []
        for name, call in self._calls.items():
            record = call.record
            for layer in range(record.num_layers):
                for direction in range(record.num_directions):
                    key = LayerKey(name, layer, direction)
                    hidden_grad, cell_grad = self._grads.get(key, (None, None))
                    if hidden_grad is None:  # the loss does not depend on this layer
                        hidden_grad = torch.zeros(call.hidden_shape, dtype=call.dtype, device=call.device)
                        if call.cell_shape is not None:
                            cell_grad = torch.zeros(call.cell_shape, dtype=call.dtype, device=call.device)
                    step_mean, log_product = self._forget.get(key, (None, None))
                    record.layers[(layer, direction)] = LayerRecord(
                        hidden_grad, cell_grad, step_mean, log_product
                    )
            modules.append(record)
        return GradientProfile(modules, loss, self._nonfinite, unsupported_modules)
