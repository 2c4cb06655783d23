r"""dL/dh_t with its scale carried apart: no underflow to zero however deep the lag.

A float32 backward pass rounds dL/dh_t to 0 once it falls below 1e-38 (denormals are flushed),
and even float64 stops at 1e-308. Here the reverse recursion of every layer and direction of a
torch ``nn.RNN``, ``nn.LSTM`` or ``nn.GRU`` call is run once more, in float64 and on the flat
state s_t (h_t, or (h_t, c_t) for the LSTM), keeping each δs_t as a unit tensor and a power of
two, as :func:`rnngrad.jacobian_through_time` keeps its products:

.. math::

    (1)  δs_t = u_t · 2^{k_t},   max_i |u_{t,i}| ∈ [½, 1)   per sequence b           (B, S)
    (2)  δs_t = e_t + J_{t+1}^T δs_{t+1},   J_{t+1} = ∂s_{t+1}/∂s_t                  (scan order)
    (3)  δx_t = (∂s_t/∂x_t)^T δs_t      (the input's gradient: the direct e of the layer below)
    (4)  e^{l}_t = m^{l}_t ⊙ Σ_d δx^{l+1,d}_t  (+ ∂L/∂h_n, ∂L/∂c_n at the last valid step)
    (5)  dL/dc_t = δs_t|_c + o_t ⊙ (1 − tanh² c_t) ⊙ W_hr^T δs_t|_h   (LSTM: the total through
         h_t = W_hr (o_t ⊙ tanh c_t); W_hr = I without proj_size)

(2) and (3) are one vector-Jacobian product of the layer's rnngrad cell (:func:`rnngrad.cells.
from_torch`, the same equations :mod:`rnngrad.cells` documents) per step, evaluated at the
states the profiled pass computed: h_t as recorded, c_t recomputed from them in float64 (its
recursion c_t = f_t c_{t−1} + i_t g_t only contracts). m in (4) is the inter-layer dropout mask.
Only the gradients arriving from outside the module (at its outputs and final states) are read
from the float32 backward; everything inside the recursion is log-scaled, so a float32 profile
reports 1e-60, or 1e-600, where ``hidden_grad`` holds 0.
"""

from __future__ import annotations

import copy
import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import Tensor

from rnngrad.cells import from_torch
from rnngrad.cells._common import RecurrentCell
from rnngrad.cells.projected_lstm import ProjectedLSTMCell
from rnngrad.profiler._layout import SequenceLayout

_LOG10_2 = math.log10(2.0)


@dataclass
class Scaled:
    """A tensor ``unit · 2^log2_scale`` with a scale per (t, b): unit ``(T, B, F)`` float64 with
    max |unit| ≤ 1, log2_scale ``(T, B)`` (−inf where the tensor is zero)."""

    def log10_norm(self) -> Tensor:
        """log10 ‖·‖₂ per (t, b), ``(T, B)`` (−inf where zero)."""
        return torch.log10(torch.linalg.vector_norm(self.unit, dim=-1)) + self.log2_scale * _LOG10_2

    def values(self) -> Tensor:
        """The plain float64 tensor (underflows to 0 below 1e-308, as float64 must)."""
        return self.unit * torch.exp2(self.log2_scale).unsqueeze(-1)

    unit: Tensor
    log2_scale: Tensor


def _normalised(values: Tensor, log2_scale: Tensor) -> tuple[Tensor, Tensor]:
    """(1): ``values · 2^log2_scale`` (rows ``(B, F)``, scale ``(B,)``) with max |unit| in [½, 1)."""
    peak = values.abs().amax(-1)  # (B,)
    _, exponent = torch.frexp(peak)
    nonzero = peak > 0
    exponent = torch.where(torch.isfinite(peak), exponent, torch.zeros_like(exponent))
    unit = torch.ldexp(values, -exponent.unsqueeze(-1).to(values.dtype))
    scale = torch.where(nonzero, log2_scale + exponent.to(log2_scale.dtype), torch.full_like(log2_scale, -torch.inf))
    return unit, scale


def _sum(first: tuple[Tensor, Tensor], second: tuple[Tensor, Tensor]) -> tuple[Tensor, Tensor]:
    """u₁·2^k₁ + u₂·2^k₂ per row, normalised again (the smaller term may round away: relative)."""
    (u1, k1), (u2, k2) = first, second
    top = torch.maximum(k1, k2)
    shift = torch.where(torch.isfinite(top), top, torch.zeros_like(top))
    total = u1 * torch.exp2(k1 - shift).unsqueeze(-1) + u2 * torch.exp2(k2 - shift).unsqueeze(-1)
    return _normalised(total, shift)


def _raw(values: Tensor) -> tuple[Tensor, Tensor]:
    """Plain values (real or complex) as a scaled pair (scale 2^0 before normalising)."""
    return _normalised(values, torch.zeros(values.shape[:-1], dtype=torch.float64, device=values.device))


def _plus_at_last_step(pair: tuple[Tensor, Tensor], last: tuple[Tensor, Tensor],
                       layout: SequenceLayout | None = None) -> tuple[Tensor, Tensor]:
    """A scaled sequence ``(T, B, S)``, ``(T, B)`` in scan order plus a scaled ``(B, S)``, ``(B,)`` at
    each sequence's last valid scan step (T without ``layout``: where a final state's gradient
    enters the reverse recursion)."""
    unit, scale = pair
    sent_unit, sent_scale = torch.zeros_like(unit), torch.full_like(scale, -torch.inf)
    if layout is None or layout.full:
        sent_unit[-1], sent_scale[-1] = last
    else:
        layout.put_at_final_states(sent_unit, last[0])
        layout.put_at_final_states(sent_scale.unsqueeze(2), last[1].unsqueeze(1))
    return _sum((unit, scale), (sent_unit, sent_scale))


def float64_copy(module):
    """A shallow copy of ``module`` holding float64 copies of its parameters as they are now (so a
    later optimizer step does not reach it); its submodules and buffers are shared."""
    snapshot = copy.copy(module)
    snapshot._parameters = {name: None if value is None else value.detach().to(torch.float64, copy=True)
                            for name, value in module._parameters.items()}
    return snapshot


def recipe_cell(module, layer: int, direction: int, snapshots: dict) -> Callable[[], RecurrentCell]:
    """Builds, when called, the float64 rnngrad cell of one layer and direction with the weights
    the module had during the pass: a shallow copy of the module holding float64 copies of its
    parameters, one per pass (``snapshots``, the recorder's), however often the module is called."""
    snapshot = snapshots.get(id(module))
    if snapshot is None:
        snapshot = float64_copy(module)  # exact for float16, bfloat16 and float32 weights too
        snapshots[id(module)] = snapshot
    return functools.partial(from_torch, snapshot, layer, direction)


@dataclass
class LayerTensors:
    """What one layer and direction of a call computed, time order, detached: its cell (built on
    demand, from a copy of the weights), input ``(T, B, F)`` and hidden outputs ``(T, B, H)``,
    h_0 and c_0 ``(B, H)``."""

    cell: Callable[[], RecurrentCell]
    inputs: Tensor
    outputs: Tensor
    h0: Tensor
    c0: Tensor | None


@dataclass
class CallRecipe:
    """Everything (2)–(4) need for one call of a fused module, filled in by the forward and by
    hooks during the backward; :meth:`scaled` runs the recursion when first asked for."""

    layout: SequenceLayout
    num_layers: int
    num_directions: int
    layers: dict[tuple[int, int], LayerTensors] = field(default_factory=dict)
    masks: dict[int, Tensor] = field(default_factory=dict)  # m^l of (4), time order (T, B, D·H)
    grads: dict[str, Tensor] = field(default_factory=dict)  # "output" (T, B, D·H), "h_n", "c_n" (L·D, B, ·)
    _result: dict[tuple[int, int], tuple[Scaled, Scaled | None]] | None = None

    def keeper(self, name: str, transform=None):
        """A tensor hook that keeps the gradient autograd hands ``name`` (``transform``ed)."""
        def keep(grad: Tensor | None) -> None:
            if grad is None:  # an unused output of the layer function: no gradient arrives
                return
            grad = grad.detach()
            self.grads[name] = grad if transform is None else transform(grad)

        return keep

    def scaled(self) -> dict[tuple[int, int], tuple[Scaled, Scaled | None]]:
        """(layer, direction) → (δh_t, δc_t or None) as :class:`Scaled`, time order."""
        if self._result is None:
            with torch.no_grad():
                self._result = self.run({})[0]
        return self._result

    def run(self, later: dict[tuple[int, int], tuple[Tensor, Tensor]]):
        """(2)–(5) for every layer and direction, with ``later`` (layer, direction) → the scaled
        gradient ``(B, S)``, ``(B,)`` that a later call of a chain sends back to this call's final
        state (at each sequence's last valid scan step, in either direction). Returns the result
        of :meth:`scaled` and the same for this call's initial states: J_1^T δs_1, for the call
        before it."""
        result, initial = {}, {}
        above: list[tuple[Tensor, Tensor]] | None = None  # δx of the layer above, per direction, time order
        for layer in reversed(range(self.num_layers)):
            direct = self._direct_from_above(layer, above)  # (T, B, D·H) pair, time order
            above = []
            for direction in range(self.num_directions):
                hidden, cell, inputs, first = self._layer(layer, direction, direct, later.get((layer, direction)))
                result[(layer, direction)] = (hidden, cell)
                initial[(layer, direction)] = first
                above.append(inputs)
        return result, initial

    def _direct_from_above(self, layer: int, above) -> tuple[Tensor, Tensor]:
        """e of (4) before the final states: the output gradient (top), else the layer above's δx."""
        if above is None:
            grad = self.grads.get("output")
            like = self.layers[(layer, 0)].outputs
            width = like.shape[2] * self.num_directions
            if grad is None:
                grad = like.new_zeros(like.shape[:2] + (width,))
            return _raw(grad.to(torch.float64))
        total = above[0]
        for other in above[1:]:
            total = _sum(total, other)
        mask = self.masks.get(layer)
        if mask is not None:
            total = _normalised(total[0] * mask.to(torch.float64), total[1])
        return total

    def _layer(self, layer: int, direction: int, direct: tuple[Tensor, Tensor], later):
        """(2) and (3) for one layer and direction: (δh, δc, δx) in time order, and the scaled
        gradient at the initial state."""
        tensors = self.layers[(layer, direction)]
        cell = tensors.cell()  # float64: built from the recipe's float64 weights
        layout, reverse = self.layout, direction == 1
        H = tensors.outputs.shape[2]
        columns = slice(direction * H, (direction + 1) * H)
        unit, scale = direct[0][..., columns], direct[1].unsqueeze(2)
        unit = layout.scan_order(unit, reverse).clone()  # (T, B, H)
        scale = layout.scan_order(scale, reverse).squeeze(2).clone()  # (T, B)
        is_lstm = tensors.c0 is not None
        if is_lstm:  # the flat state (h, c): no direct gradient at c
            unit = torch.cat([unit, unit.new_zeros(unit.shape[:2] + (cell.hidden_size,))], 2)
        final = self._final_state_grad(layer, direction, (H, cell.hidden_size) if is_lstm else (H,), unit)
        if final is not None:
            finals = torch.zeros_like(unit)
            layout.add_at_final_states(finals, final)
            unit, scale = _sum((unit, scale), _raw(finals))
        if later is not None:  # a chain's next call, from this call's final state
            unit, scale = _plus_at_last_step((unit, scale), later, layout)
        inputs = layout.scan_order(tensors.inputs.to(torch.float64), reverse)  # (T, B, F)
        previous, slopes = self._previous_states(cell, tensors, inputs, reverse, layout)  # s_{t−1} (T, B, S)
        padding = layout.padding()
        valid = None if padding is None else ~padding.squeeze(2)  # (T, B), the same in scan order
        states, input_grads, first = _reverse(cell, inputs, previous, (unit, scale), valid)
        hidden = _time_order(layout, reverse, states[0][..., :H], states[1])
        cell_grad = None
        if is_lstm:  # (5): the total dL/dc_t also runs through h_t = W_hr (o_t ⊙ tanh c_t)
            through_h = states[0][..., :H]  # δs_t|_h (T, B, P)
            if isinstance(cell, ProjectedLSTMCell):
                through_h = through_h @ cell.weight_hr  # W_hr^T δs_t|_h (T, B, H); W_hr = I otherwise
            cell_unit = states[0][..., H:] + through_h * slopes
            cell_grad = _time_order(layout, reverse, *_normalised(cell_unit, states[1]))
        input_grad = _time_order(layout, reverse, *input_grads)
        return hidden, cell_grad, (input_grad.unit, input_grad.log2_scale), first

    def _final_state_grad(self, layer: int, direction: int, widths: tuple[int, ...], like: Tensor) -> Tensor | None:
        """∂L/∂s_n of one layer and direction ``(B, S)`` (h_n, and c_n for the LSTM: two ``widths``), or None."""
        index = layer * self.num_directions + direction
        names = ("h_n", "c_n")[:len(widths)]
        if not any(name in self.grads for name in names):
            return None
        parts = [self.grads[name][index].to(torch.float64) if name in self.grads
                 else like.new_zeros(like.shape[1], width) for name, width in zip(names, widths)]
        return torch.cat(parts, 1)  # (B, S)

    @staticmethod
    def _previous_states(cell: RecurrentCell, tensors: LayerTensors, inputs: Tensor, reverse: bool,
                         layout: SequenceLayout) -> tuple[Tensor, Tensor | None]:
        """s_{t−1} per scan step ``(T, B, S)``: h as recorded, c recomputed from it (LSTM), and
        the LSTM's o_t ⊙ (1 − tanh² c_t) ``(T, B, H)`` (∂h_t/∂c_t, before a projection; else None)."""
        outputs = layout.scan_order(tensors.outputs.to(torch.float64), reverse)  # (T, B, H)
        hidden = torch.cat([tensors.h0.to(torch.float64).unsqueeze(0), outputs[:-1]])  # h_{t−1}
        if tensors.c0 is None:
            return hidden, None
        cells = hidden.new_empty(hidden.shape[:2] + (cell.hidden_size,))
        slopes = torch.empty_like(cells)
        c = tensors.c0.to(torch.float64)
        for t in range(hidden.shape[0]):
            cells[t] = c
            i, f, g, o = cell._gates(inputs[t], hidden[t])  # (B, H) each
            c = f * c + i * g
            slopes[t] = o * (1 - torch.tanh(c).square())
        return torch.cat([hidden, cells], 2), slopes  # (T, B, P + H), (T, B, H); P = H unprojected


def _time_order(layout: SequenceLayout, reverse: bool, unit: Tensor, scale: Tensor) -> Scaled:
    return Scaled(layout.scan_order(unit, reverse), layout.scan_order(scale.unsqueeze(2), reverse).squeeze(2))


def _reverse(cell: RecurrentCell, inputs: Tensor, previous: Tensor, direct: tuple[Tensor, Tensor],
             valid: Tensor | None):
    """(2) and (3) in scan order: δs ``(T, B, S)`` and δx ``(T, B, F)``, each with ``(T, B)`` scales,
    and J_1^T δs_1 ``(B, S)``, ``(B,)``: the gradient at the initial state."""
    unit, scale = direct
    steps = inputs.shape[0]
    state_unit, state_scale = torch.zeros_like(unit), torch.empty_like(scale)
    input_unit, input_scale = torch.zeros_like(inputs), torch.empty_like(scale)
    carry = (torch.zeros_like(unit[0]), torch.full_like(scale[0], -torch.inf))
    for t in range(steps - 1, -1, -1):
        u, k = _sum((unit[t], scale[t]), carry)  # (2)
        if valid is not None:  # nothing flows at padded steps
            u = u * valid[t].unsqueeze(1)
            k = torch.where(valid[t], k, torch.full_like(k, -torch.inf))
        state_unit[t], state_scale[t] = u, k
        x = inputs[t].detach().requires_grad_()
        s = previous[t].detach().requires_grad_()
        with torch.enable_grad():
            nxt = cell._forward_and_jacobian(x, s, False)[0]
            grad_x, grad_s = torch.autograd.grad(nxt, (x, s), u)
        carry = _normalised(grad_s, k)
        input_unit[t], input_scale[t] = _normalised(grad_x, k)  # (3)
    return (state_unit, state_scale), (input_unit, input_scale), carry


@dataclass
class ChainRecipe:
    """(2)–(5) over a chain of calls of one module (a decoder calling its ``nn.GRU`` once per
    step): from the last call back, each call's initial-state gradient J_1^T δs_1 is sent to the
    final state of the call before it, which read only the caller's own use of its h_n (and c_n)
    from the pass. Each direction chains on its own: the reverse direction's final state is the
    one at t = 1, where its scan ends. Each call a :class:`CallRecipe` (packed or not, either
    direction), or a ``DiagonalRecipe`` (``_scaled_diagonal``) with the same ``run``."""

    calls: list
    _result: dict[tuple[int, int], tuple[Scaled, Scaled | None]] | None = None

    def scaled(self) -> dict[tuple[int, int], tuple[Scaled, Scaled | None]]:
        """(layer, direction) → (δh_t, δc_t or None) over the chain's steps, time order."""
        if self._result is None:
            with torch.no_grad():
                parts, later = [], {}
                for call in reversed(self.calls):
                    result, later = call.run(later)
                    parts.append(result)
                parts.reverse()
                self._result = {key: (_concatenated([part[key][0] for part in parts]),
                                      None if parts[0][key][1] is None else
                                      _concatenated([part[key][1] for part in parts]))
                                for key in parts[0]}
        return self._result


def _concatenated(pieces: list[Scaled]) -> Scaled:
    return Scaled(torch.cat([piece.unit for piece in pieces]), torch.cat([piece.log2_scale for piece in pieces]))
