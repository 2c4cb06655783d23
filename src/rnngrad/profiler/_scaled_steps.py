r"""dL/dh_t of a cell called step by step in the user's loop (``torch.nn.RNNCell``, ``LSTMCell``,
``GRUCell`` or rnngrad's cells), with its scale carried apart, as :mod:`rnngrad.profiler._scaled`
does for torch's fused modules.

During the pass each step's state s_t goes on to the next step as it is, and to the user as a
view of it (``_steps``). So the hook on the view receives exactly the gradient of what the user
computed from s_t, the direct part e_t, as the backward computed it, and the reverse recursion
can be run once more, in float64, on a unit tensor and a power of two per sequence:

.. math::

    (1)  δs_t = u_t · 2^{k_t},   max_i |u_{t,i}| ∈ [½, 1)                          (B, S)
    (2)  δs_t = e_t + J_{t+1}^T δs_{t+1},   J_{t+1} = ∂s_{t+1}/∂s_t at (x_{t+1}, s_t)
    (3)  dL/dc_t = δs_t|_c + δs_t|_h ⊙ o_t ⊙ (1 − tanh² c_t)       (LSTM: c_t also reaches h_t)

s = h, or (h, c) for an LSTM cell. J^T u in (2) is one vector-Jacobian product through a float64
copy of the cell (its weights as they were in the pass), at the inputs and states the pass
recorded; (3)'s o_t is recomputed from them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor, nn

from rnngrad.cells.lstm import LSTMCell
from rnngrad.profiler._scaled import Scaled, _normalised, _raw, _sum, float64_copy


def float64_cell(module: nn.Module, copies: dict) -> nn.Module | None:
    """A shallow copy of ``module`` holding float64 copies of its parameters as they are now, one
    per pass (``copies``, keyed by the module's id), however often it is called; None for a cell
    whose parameters are not real floating point (no log-scaled recursion then)."""
    key = id(module)
    if key not in copies:
        parameters = module._parameters
        real = next(iter(parameters.values())).dtype.is_floating_point
        copies[key] = float64_copy(module) if real else None
    return copies[key]


@dataclass
class StepParts:
    """One step as the pass ran it: the float64 cell, its input ``(B, I)``, the state it received
    (a tuple of ``(B, H)``, or None for zeros), its step function ``step(cell, x, state)`` and
    the direct gradients at the state it returned, filled by the hooks (None: nothing used it)."""

    cell: nn.Module
    inputs: Tensor
    previous: tuple[Tensor, ...] | None
    step: Callable
    direct: list[Tensor | None] = field(default_factory=lambda: [None, None])

    def keeper(self, slot: int):
        def keep(grad: Tensor) -> None:
            self.direct[slot] = grad.detach().reshape(self.inputs.shape[0], -1)  # (B, H)

        return keep


@dataclass
class StepChainRecipe:
    """(1)–(3) over one chain of steps, run when first asked for."""

    steps: list[StepParts]
    widths: tuple[int, ...]  # H of each state part: (H,) or (H, H) for an LSTM cell
    _result: dict[tuple[int, int], tuple[Scaled, Scaled | None]] | None = None

    def scaled(self) -> dict[tuple[int, int], tuple[Scaled, Scaled | None]]:
        """(0, 0) → (δh_t, dL/dc_t or None) as :class:`Scaled` ``(T, B, H)``, in step order."""
        if self._result is None:
            self._result = self._run()
        return self._result

    def _run(self) -> dict[tuple[int, int], tuple[Scaled, Scaled | None]]:
        steps, hidden = len(self.steps), self.widths[0]
        first = self.steps[0].inputs
        batch, dtype = first.shape[0], _state_dtype(self.steps[0].cell)
        units = torch.zeros(steps, batch, sum(self.widths), dtype=dtype, device=first.device)
        scales = torch.empty(steps, batch, dtype=torch.float64, device=first.device)
        carry = (units[0].clone(), torch.full_like(scales[0], -torch.inf))
        for t in range(steps - 1, -1, -1):
            parts = self.steps[t]
            direct = torch.cat([units.new_zeros(batch, width) if grad is None else grad.to(dtype)
                                for grad, width in zip(parts.direct, self.widths)], 1)  # e_t (B, S)
            units[t], scales[t] = _sum(_raw(direct), carry)  # (2)
            if t > 0:
                carry = _normalised(self._transposed_jacobian_product(parts, units[t]), scales[t])
        result_hidden = Scaled(units[..., :hidden], scales)
        cell_grad = None
        if len(self.widths) == 2:
            slopes = torch.stack([self._cell_slope(parts) for parts in self.steps])  # (T, B, H)
            cell_unit = units[..., hidden:] + units[..., :hidden] * slopes  # (3)
            cell_grad = Scaled(*_normalised(cell_unit, scales))
        return {(0, 0): (result_hidden, cell_grad)}

    def _transposed_jacobian_product(self, parts: StepParts, unit: Tensor) -> Tensor:
        """J_t^T u of (2): the unit gradient at s_t taken back to s_{t−1} ``(B, S)``."""
        previous = self._previous(parts)
        with torch.enable_grad():
            leaves = tuple(part.detach().requires_grad_() for part in previous)
            state = leaves if len(leaves) == 2 else leaves[0]
            output = parts.step(parts.cell, parts.inputs.to(_real_dtype(parts.cell)), state)
            outputs = output if isinstance(output, tuple) else (output,)
            grads = torch.autograd.grad(outputs, leaves, unit.split(self.widths, 1), allow_unused=True)
        return torch.cat([torch.zeros_like(leaf) if grad is None else grad for grad, leaf in zip(grads, leaves)], 1)

    def _previous(self, parts: StepParts) -> tuple[Tensor, ...]:
        dtype = _state_dtype(parts.cell)
        if parts.previous is None:
            return tuple(parts.inputs.new_zeros(parts.inputs.shape[0], width, dtype=dtype) for width in self.widths)
        return tuple(part.detach().to(dtype).reshape(parts.inputs.shape[0], -1) for part in parts.previous)

    def _cell_slope(self, parts: StepParts) -> Tensor:
        """o_t ⊙ (1 − tanh² c_t) of (3) for one step, ``(B, H)``, from its recorded input and state."""
        h, c = self._previous(parts)
        x = parts.inputs.to(torch.float64)
        cell = parts.cell
        with torch.no_grad():
            if isinstance(cell, LSTMCell):
                i, f, g, o = cell._gates(x, h)
            else:  # torch.nn.LSTMCell: gates i, f, g, o
                gates = nn.functional.linear(x, cell.weight_ih, cell.bias_ih) + nn.functional.linear(
                    h, cell.weight_hh, cell.bias_hh)
                i, f, g, o = (part.sigmoid() if k != 2 else part.tanh() for k, part in enumerate(gates.chunk(4, 1)))
            c_next = f * c + i * g
            return o * (1 - torch.tanh(c_next).square())


def _real_dtype(cell: nn.Module) -> torch.dtype:
    return next(iter(cell._parameters.values())).dtype


def _state_dtype(cell: nn.Module) -> torch.dtype:
    return torch.complex128 if getattr(cell, "complex_state", False) else torch.float64
