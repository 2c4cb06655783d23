r"""dL/dh_t of a diagonal module (``rnngrad.MinGRU``, ``MinLSTM``, ``LRU``) with its scale carried
apart, as :mod:`rnngrad.profiler._scaled` does for torch's modules.

Layer k of such a module is h^{(k)}_t = a^{(k)}_t ⊙ h^{(k)}_{t−1} + b^{(k)}_t with a_t, b_t from
the layer's input x^{(k)}_t alone (:mod:`rnngrad.diagonal_modules._stack`). So the reverse
recursion needs no Jacobian product, only the coefficients, and is run once more in float64
(complex128 for the LRU) on a unit tensor and a power of two per step and sequence:

.. math::

    (1)  δ^{(k)}_t = u_t · 2^{s_t},   max_i |u_{t,i}| ∈ [½, 1)                        (B, H)
    (2)  δ^{(k)}_t = e^{(k)}_t + \bar a^{(k)}_{t+1} ⊙ δ^{(k)}_{t+1}   (+ ∂L/∂h_n[k] at t = T)
    (3)  e^{(k−1)}_t = Re[(∂a_t/∂x_t)^H (δ_t ⊙ \bar h_{t−1}) + (∂b_t/∂x_t)^H δ_t]   (x^{(k)} = Re h^{(k−1)})

(3) is linear in δ_t and involves step t alone, so it runs on the unit tensor for all t at once
(one vector-Jacobian product of the layer's ``coefficients``) and takes the scale s_t along. The
states are recomputed in float64 from the pass's input and initial states, with a float64 copy of
the weights the pass used. Only the gradients arriving at the module's output and h_n are read
from the pass itself, so a float32 profile reports 1e-60 where ``hidden_grad`` holds 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from rnngrad.profiler._scaled import Scaled, _normalised, _plus_at_last_step, _raw, _sum, float64_copy
from rnngrad.scan import linear_scan


def float64_snapshot(module):
    """:func:`~rnngrad.profiler._scaled.float64_copy` of a ``DiagonalStack``, with its own cache of
    layer cells (``layer_cell`` builds them around the copies, leaving the module's cache alone)."""
    snapshot = float64_copy(module)
    snapshot._cells = {}
    return snapshot


@dataclass
class DiagonalRecipe:
    """What (1)–(3) need for one call: the module's float64 snapshot, its time-major input
    ``(T, B, I)`` and initial states ``(L, B, H)`` (or None), the call's layout, and the
    gradients hooks hand in during the backward at the output and h_n the caller got (views, so
    what the caller computed from them alone; a later call of a chain is sent back apart)."""

    snapshot: object
    inputs: Tensor
    starts: Tensor | None
    unbatched: bool
    batch_first: bool
    grads: dict[str, Tensor] = field(default_factory=dict)  # "output" (T, B, H) time-major, "h_n" (L, B, H)
    _result: dict[tuple[int, int], tuple[Scaled, None]] | None = None

    def keeper(self, name: str):
        """A tensor hook that keeps ∂L/∂``name`` ("output" or "h_n") time-major and batched."""
        def keep(grad: Tensor | None) -> None:
            if grad is None:
                return
            grad = grad.detach()
            if self.unbatched:
                grad = grad.unsqueeze(1)
            elif name == "output" and self.batch_first:
                grad = grad.transpose(0, 1)
            self.grads[name] = grad

        return keep

    def scaled(self) -> dict[tuple[int, int], tuple[Scaled, None]]:
        """(layer, 0) → (δh_t as :class:`Scaled`, None), time order."""
        if self._result is None:
            with torch.no_grad():
                self._result = self.run({})[0]
        return self._result

    def run(self, later: dict[tuple[int, int], tuple[Tensor, Tensor]]):
        """(1)–(3) with ``later`` (layer, 0) → the scaled gradient ``(B, H)``, ``(B,)`` a later call
        of a chain sends to this call's final state; returns the result of :meth:`scaled` and
        the scaled gradient at each layer's initial state, ā_1 ⊙ δ_1, for the call before."""
        module = self.snapshot
        layer_inputs, states = [], []  # x^{(k)} (T, B, I_k) and h^{(k)} (T, B, H), float64
        x = self.inputs.to(torch.float64)
        for layer in range(module.num_layers):
            start = None if self.starts is None else self.starts[layer].to(module.state_dtype)
            h = linear_scan(*module.layer_cell(layer).coefficients(x), start)
            layer_inputs.append(x)
            states.append(h)
            x = module.layer_output(h)
        output = self.grads.get("output")
        direct = _raw(x.new_zeros(x.shape) if output is None else output.to(torch.float64))  # e^{(L−1)}, real
        result, initial = {}, {}
        for layer in reversed(range(module.num_layers)):
            h = states[layer]
            hidden, first = self._reverse(layer, layer_inputs[layer], h, direct, later.get((layer, 0)))
            result[(layer, 0)], initial[(layer, 0)] = (hidden, None), first
            if layer > 0:
                direct = self._input_grad(layer, layer_inputs[layer], h, hidden)
        return result, initial

    def _reverse(self, layer: int, x: Tensor, h: Tensor, direct: tuple[Tensor, Tensor], later):
        """(2) for one layer from its input x ``(T, B, I)`` and states h ``(T, B, H)``: δ in time
        order, and ā_1 ⊙ δ_1 (the gradient at the initial state)."""
        a = self.snapshot.layer_cell(layer).coefficients(x)[0]  # (T, B, H)
        a_bar = a.conj().expand(h.shape)
        unit, scale = direct[0].to(h.dtype), direct[1]  # e_t, the real gradient of Re h as h's dtype
        if "h_n" in self.grads:
            unit, scale = _plus_at_last_step((unit, scale), _raw(self.grads["h_n"][layer].to(h.dtype)))
        if later is not None:  # what the chain's next call sends back to h_n
            unit, scale = _plus_at_last_step((unit, scale), later)
        return carried_back(a_bar, unit, scale)

    def _input_grad(self, layer: int, x: Tensor, h: Tensor, hidden: Scaled) -> tuple[Tensor, Tensor]:
        """(3): e^{(k−1)} as a scaled pair ``(T, B, H)``, from δ^{(k)}'s unit tensor."""
        start = h.new_zeros(h.shape[1:]) if self.starts is None else self.starts[layer].to(h.dtype)
        previous = torch.cat([start.unsqueeze(0), h[:-1]])  # h_{t−1}, (T, B, H)
        x = x.detach().requires_grad_()
        with torch.enable_grad():
            a, b = self.snapshot.layer_cell(layer).coefficients(x)
            outputs = [(value, grad) for value, grad in ((a, hidden.unit * previous.conj()), (b, hidden.unit))
                       if value.requires_grad]
            (grad_x,) = torch.autograd.grad([value for value, _ in outputs], [x], [grad for _, grad in outputs])
        return _normalised(grad_x, hidden.log2_scale)


def carried_back(a_bar: Tensor, unit: Tensor, scale: Tensor) -> tuple[Scaled, tuple[Tensor, Tensor]]:
    """(2) on scaled pairs: δ_t = e_t + ā_{t+1} ⊙ δ_{t+1} from e_t = ``unit`` ``(T, B, H)`` ·
    2^``scale`` ``(T, B)`` and ā ``(T, B, H)``; returns δ and ā_1 ⊙ δ_1 (the initial state's)."""
    units, scales = torch.empty_like(unit), torch.empty_like(scale)
    carry = (torch.zeros_like(unit[0]), torch.full_like(scale[0], -torch.inf))
    for t in range(unit.shape[0] - 1, -1, -1):
        units[t], scales[t] = _sum((unit[t], scale[t]), carry)  # (2)
        carry = _normalised(a_bar[t] * units[t], scales[t])  # ā_t ⊙ δ_t, for δ_{t−1}
    return Scaled(units, scales), carry


@dataclass
class ScanRecipe:
    """A named ``linear_scan`` call (``profiler._tracking``): (2) from its coefficients ``a`` as
    the pass used them (broadcast to b's shape) and the gradient a hook hands in at its output,
    g_t = e_t: everything from outside the scan, since the recurrence runs inside it. Each call
    is a chain of its own: a later scan started from h_T sends its gradient back through g_T,
    as any other use of the output does."""

    a: Tensor
    shape: tuple[int, int, int]  # (T, B, H), the recorded layout
    grads: dict[str, Tensor] = field(default_factory=dict)
    _result: dict[tuple[int, int], tuple[Scaled, None]] | None = None

    def keep_output_grad(self, grad: Tensor) -> None:
        self.grads["output"] = grad.detach()

    def scaled(self) -> dict[tuple[int, int], tuple[Scaled, None]]:
        """(0, 0) → (δ_t as :class:`Scaled` ``(T, B, H)``, None)."""
        if self._result is None:
            with torch.no_grad():
                dtype = torch.complex128 if self.a.is_complex() else torch.float64
                a_bar = self.a.reshape(self.shape).conj().to(dtype)  # (T, B, H)
                output = self.grads.get("output")
                direct = torch.zeros_like(a_bar) if output is None else output.reshape(self.shape).to(dtype)
                self._result = {(0, 0): (carried_back(a_bar, *_raw(direct))[0], None)}
        return self._result
