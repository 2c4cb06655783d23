"""Find the recurrent submodules of a user's model, and leave the model exactly as found.

Supported, with subclasses that do not override ``forward``: the fused ``torch.nn.RNN`` (tanh,
relu), ``torch.nn.LSTM`` (with or without proj_size) and ``torch.nn.GRU``; rnngrad's diagonal
modules ``MinGRU``, ``MinLSTM`` and ``LRU``; and cells that step in the user's loop,
``torch.nn.RNNCell``, ``LSTMCell``, ``GRUCell`` and rnngrad's cells. Other recurrent modules
(a subclass that overrides ``forward``) are reported, not profiled; their recurrence can be
marked with ``rnngrad.track``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor, nn

from rnngrad.cells import DiagonalCell, GRUCell, LSTMCell, RNNCell
from rnngrad.cells import LRUCell, MinGRUCell, MinLSTMCell
from rnngrad.diagonal_modules import DiagonalStack
from rnngrad.errors import InputError

SEQUENCE_TYPES = (nn.LSTM, nn.GRU, nn.RNN, DiagonalStack)  # one call runs a whole sequence
CELL_TYPES = (nn.RNNCell, nn.LSTMCell, nn.GRUCell, RNNCell, LSTMCell, GRUCell, MinGRUCell, MinLSTMCell,
              LRUCell, DiagonalCell)  # one call is one step
SUPPORTED_TEXT = ("torch.nn.RNN (tanh or relu), torch.nn.LSTM (proj_size allowed), torch.nn.GRU, "
                  "rnngrad.MinGRU, MinLSTM or LRU, or a cell (torch.nn.RNNCell, LSTMCell, GRUCell, "
                  "rnngrad's cells)")


def is_profiled(module: nn.Module) -> bool:
    """True for a module that :func:`~rnngrad.profiler.profile` records (a supported type whose
    ``forward`` is the type's own)."""
    base = next((kind for kind in SEQUENCE_TYPES + CELL_TYPES if isinstance(module, kind)), None)
    return base is not None and type(module).forward is base.forward


def is_cell(module: nn.Module) -> bool:
    """True for a profiled module that runs one step per call."""
    return isinstance(module, CELL_TYPES)


def find_recurrent_modules(model: nn.Module) -> tuple[list[tuple[str, nn.Module]], list[str]]:
    """``([(qualified name, module)] supported, ["name (Class)"] unsupported)``."""
    supported: list[tuple[str, nn.Module]] = []
    unsupported: list[str] = []
    for name, module in model.named_modules():
        if is_profiled(module):
            supported.append((name, module))
        elif isinstance(module, (nn.RNNBase, nn.RNNCellBase) + CELL_TYPES + SEQUENCE_TYPES):
            unsupported.append(f"{name or '<model>'} ({type(module).__name__})")
    return supported, unsupported


def nothing_recorded(model: nn.Module, unsupported: list[str]) -> InputError:
    """The error for a forward pass that called no supported module and no ``track``."""
    model_class = type(model).__name__
    if unsupported:
        return InputError(
            f"model: expected {SUPPORTED_TEXT} called in the forward pass, got {model_class} whose "
            f"only recurrent modules are unsupported: {', '.join(unsupported)} (they override "
            f"forward); mark their state with rnngrad.track(name, state) to profile them"
        )
    return InputError(
        f"model: expected a module that is or contains {SUPPORTED_TEXT} and calls it in its forward "
        f"pass (or a state marked with rnngrad.track), got {model_class} with no recurrent module "
        f"called in its forward pass"
    )


def _hook_dicts(module: nn.Module) -> dict[str, dict]:
    return {key: value for key, value in vars(module).items() if "hooks" in key and isinstance(value, dict)}


@dataclass
class ModelSnapshot:
    """Everything profile could disturb: .grad, requires_grad, mode, forward, hooks, buffers."""

    grads: list[tuple[nn.Parameter, Tensor | None]] = field(default_factory=list)
    requires_grad: list[tuple[nn.Parameter, bool]] = field(default_factory=list)
    training: list[tuple[nn.Module, bool]] = field(default_factory=list)
    forwards: list[tuple[nn.Module, bool, Any]] = field(default_factory=list)
    hooks: list[tuple[dict, dict]] = field(default_factory=list)
    buffers: list[tuple[Tensor, Tensor]] = field(default_factory=list)

    @classmethod
    def take(cls, model: nn.Module, keep_buffers: bool) -> ModelSnapshot:
        """Record the model's state; ``keep_buffers`` also copies buffers (running statistics)."""
        snapshot = cls()
        for parameter in model.parameters():
            snapshot.grads.append((parameter, parameter.grad))
            snapshot.requires_grad.append((parameter, parameter.requires_grad))
        for module in model.modules():
            snapshot.training.append((module, module.training))
            snapshot.forwards.append((module, "forward" in vars(module), vars(module).get("forward")))
            snapshot.hooks.extend((hooks, dict(hooks)) for hooks in _hook_dicts(module).values())
        if keep_buffers:
            snapshot.buffers = [(buffer, buffer.detach().clone()) for buffer in model.buffers()]
        return snapshot

    def restore(self, grads: bool) -> None:
        """Put everything back; ``grads=False`` keeps the gradients (and buffers) the pass left."""
        for module, had_forward, forward in self.forwards:
            if had_forward:
                module.forward = forward
            elif "forward" in vars(module):
                del module.forward
        for module, training in self.training:
            module.training = training
        for parameter, requires_grad in self.requires_grad:
            parameter.requires_grad_(requires_grad)
        for hooks, saved in self.hooks:
            if hooks != saved:
                hooks.clear()
                hooks.update(saved)
        if grads:
            for parameter, grad in self.grads:
                parameter.grad = grad
            with torch.no_grad():
                for buffer, saved_buffer in self.buffers:
                    buffer.copy_(saved_buffer)
