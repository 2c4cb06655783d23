r"""dL/dstate_t of a recurrence marked with ``rnngrad.track``, carried on where its dtype underflows.

The profiler did not write a tracked step, so it cannot rerun it in float64 as it reruns a cell
(``_scaled_steps``). It has the step's own autograd graph, kept until the profile is built, and
the total gradient δs^rec_t that the hooks recorded in the pass's dtype. Where that gradient is
well inside the dtype's range it is kept as it is; where it has come within 2^24 of the smallest
normal number (float32: 2.0e-31, so flushing and rounding may have changed or zeroed it), the
recursion goes on through the graph with its scale carried apart (``_scaled`` (1)):

.. math::

    (1)  trusted at (t, b):  max_i |δs^rec_{t,b,i}| ≥ 2^24 · tiny   ⇒   δŝ_t = δs^rec_t
    (2)  e_t = δs^rec_t − J_{t+1}^T δs^rec_{t+1}            (the direct part, as the pass summed it)
    (3)  δŝ_t = e_t + J_{t+1}^T δŝ_{t+1},   J_{t+1} = ∂s_{t+1}/∂s_t       (untrusted rows)

J^T v is one vector-Jacobian product of the graph from s_{t+1} back to s_t, taken on the unit
tensor of δŝ_{t+1}, so nothing underflows. For a tuple s = (h, c) whose h_{t+1} is computed from
c_{t+1}, the recorded δc_{t+1} is the total, through h_{t+1} too, and autograd would add that path
once more, so the product is seeded with

.. math::

    (4)  (v_h,\; v_c − (∂h_{t+1}/∂c_{t+1})^T v_h)   at (h_{t+1}, c_{t+1}).

(2) is exact where nothing but the recurrence used s_t (e_t = 0, both terms from the same
kernels). The recursion assumes what ``track`` means: s_{t+1} depends on earlier states only
through s_t, and batch rows do not mix. A chain whose gradients are all trusted takes no product.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from rnngrad.profiler._scaled import Scaled, _normalised, _raw, _sum

TRUSTED_MARGIN = 2.0 ** 24  # (1): a gradient this far above the smallest normal number is exact


@dataclass
class TrackChainRecipe:
    """(1)–(3) over one tracked chain; :meth:`run` needs the pass's graph (retained) alive."""

    states: list[tuple[Tensor, ...]]  # s_t per step: the tracked tensors, (B, H) or (H,) each
    recorded: list[list[Tensor | None]]  # δs^rec_t per step and part, (1, B, H) or None (unused)
    widths: tuple[int, ...]  # H of each part: (H,) or (H, H) for a tuple (h, c)

    def run(self) -> dict[tuple[int, int], tuple[Scaled, Scaled | None]]:
        """(0, 0) → (δh_t, δc_t or None) as :class:`Scaled` ``(T, B, H)``, in step order."""
        dtype = self.states[0][0].dtype
        totals = torch.stack([self._total(t, dtype) for t in range(len(self.states))])  # δs^rec (T, B, S)
        wide = torch.complex128 if dtype.is_complex else torch.float64
        units, scales = _raw(totals.to(wide))
        trusted = totals.abs().amax(-1) >= TRUSTED_MARGIN * torch.finfo(dtype).tiny  # (1) (T, B)
        for t in range(len(self.states) - 2, -1, -1):
            if bool(trusted[t].all()):
                continue
            direct = totals[t] - self._vjp(t, totals[t + 1])  # (2), in the pass's dtype
            carried = _normalised(self._vjp(t, units[t + 1].to(dtype)).to(wide), scales[t + 1])
            unit, scale = _sum(_raw(direct.to(wide)), carried)  # (3)
            units[t] = torch.where(trusted[t].unsqueeze(-1), units[t], unit)
            scales[t] = torch.where(trusted[t], scales[t], scale)
        hidden = self.widths[0]
        cell = None if len(self.widths) == 1 else Scaled(*_normalised(units[..., hidden:], scales))
        return {(0, 0): (Scaled(*_normalised(units[..., :hidden], scales)), cell)}

    def _total(self, t: int, dtype: torch.dtype) -> Tensor:
        """δs^rec_t ``(B, S)``: the recorded parts side by side, zeros where nothing used one."""
        batch = self.states[t][0].reshape(-1, self.widths[0]).shape[0]
        return torch.cat([torch.zeros(batch, width, dtype=dtype, device=self.states[t][0].device)
                          if grad is None else grad.reshape(batch, width).to(dtype)
                          for grad, width in zip(self.recorded[t], self.widths)], 1)

    def _vjp(self, t: int, vector: Tensor) -> Tensor:
        """J_{t+1}^T v ``(B, S)``: v at s_{t+1} taken back through the graph to s_t."""
        outputs, inputs = self.states[t + 1], self.states[t]
        grad_outputs = [part.reshape(out.shape) for part, out in zip(vector.split(self.widths, 1), outputs)]
        if len(outputs) == 2:  # (4): take out what autograd adds again through h_{t+1}'s use of c_{t+1}
            (through_h,) = torch.autograd.grad(outputs[0], outputs[1], grad_outputs[0], retain_graph=True,
                                               allow_unused=True)
            if through_h is not None:
                grad_outputs[1] = grad_outputs[1] - through_h
        grads = torch.autograd.grad(outputs, inputs, grad_outputs, retain_graph=True, allow_unused=True)
        batch = vector.shape[0]
        return torch.cat([torch.zeros_like(part) if grad is None else grad.reshape(batch, width)
                          for grad, part, width in zip(grads, vector.split(self.widths, 1), self.widths)], 1)
