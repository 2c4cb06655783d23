"""What every single-layer, single-direction scan shares: its spec and its gradient plumbing.

The hand-written layer functions (``_gru_layer``, ``_rnn_layer``) each hold one cell's forward
loop and reverse scan side by side; the LSTM (``_lstm_fused``) reads torch's kernel instead. Around
them the plumbing is the same:

.. math::

    (1)  e_t = ∂L/∂h_t (direct): the gradient of the layer output at t, plus ∂L/∂h_n at the
         sequence's last valid scan step
    (2)  δW_hh = Σ_t δa_t h_{t−1}^T = δa_1 h_0^T + [δa_2 … δa_T] [h_1 … h_{T−1}]^T   (two GEMMs)

and the per-step totals δh_t (and δc_t) go, in time order, to the recorder.
"""

from __future__ import annotations

import cmath
import contextlib
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from rnngrad._threads import intra_op_threads, one_intra_op_thread
from rnngrad.profiler._layout import SequenceLayout

if TYPE_CHECKING:
    from rnngrad.profiler._recorder import Recorder

@dataclass(frozen=True)
class LayerKey:
    """Which recorded layer: the module's qualified name, its layer and direction."""

    module: str  # qualified name as in model.named_modules(); "" for the model itself
    layer: int  # 0 .. num_layers − 1
    direction: int  # 0 forward in time, 1 backward in time
    call: int = 0  # which call of the module (chains group the calls)


@dataclass(frozen=True)
class LayerSpec:
    """Everything a layer function needs besides tensors."""

    key: LayerKey
    layout: SequenceLayout  # lengths, padding mask, scan-order maps
    recorder: "Recorder"  # receives δh_t, δc_t and the forward statistics
    weight_grads: bool  # False: return None for weights (profile without accumulate_grad)

    @property
    def reverse(self) -> bool:
        return self.key.direction == 1


def direct_gradient(spec: LayerSpec, grad_output: Tensor, grad_final: Tensor) -> Tensor:
    """``(T, B, F)`` fresh contiguous tensor of e_t (1) in scan order."""
    scan = spec.layout.scan_order(grad_output, spec.reverse)  # (T, B, F)
    direct = torch.empty(scan.shape, dtype=scan.dtype, device=scan.device)
    direct.copy_(scan)
    spec.layout.add_at_final_states(direct, grad_final)
    return direct


def recurrent_weight_grad(pre_activation_grad: Tensor, outputs: Tensor, h0: Tensor) -> Tensor:
    """(2): ``(G, F)`` from δa ``(T, B, G)``, the layer's scan-order outputs ``(T, B, F)``, h_0."""
    steps, batch, gates = pre_activation_grad.shape
    flat_grad = pre_activation_grad.reshape(steps * batch, gates)  # (T*B, G)
    grad = h0.t() @ flat_grad[:batch]  # (F, G); this orientation runs faster in MKL
    if steps > 1:
        previous = outputs[:-1].reshape((steps - 1) * batch, -1)  # (T*B − B, F)
        grad.addmm_(previous.t(), flat_grad[batch:])
    return grad.t()


def weight_grad(flat_grad: Tensor, flat_inputs: Tensor) -> Tensor:
    """``(G, F)`` = Σ_n δa_n u_n^T from ``(N, G)`` and ``(N, F)``, as one GEMM."""
    return (flat_inputs.t() @ flat_grad).t()


def bias_grad(flat_grad: Tensor) -> Tensor:
    """``(G,)`` = Σ_n δa_n from ``(N, G)`` (a matrix-vector product: faster than a strided sum)."""
    return torch.mv(flat_grad.t(), flat_grad.new_ones(flat_grad.shape[0]))


def flat(sequence: Tensor) -> Tensor:
    """``(T, B, F)`` → ``(T*B, F)`` (a view when the strides allow, as for slot slices)."""
    return sequence.reshape(sequence.shape[0] * sequence.shape[1], -1)


class ThreadPlan:
    """Small steps run on one intra-op thread; the few big GEMMs on all of them.

    A step's ops are too small to gain from threads, and waking a second thread for every op
    costs more than the op; on a busy machine a sleeping second thread can stall each op for a
    scheduler tick. Long GEMMs still gain from threads, so :meth:`wide` restores them. Problems
    with big steps (≥ ``SMALL_STEP_FLOPS`` multiply-adds) keep every thread throughout.

    Use as ``with ThreadPlan(flops, steps) as plan: ... with plan.wide(): big_gemm()``.
    """

    def __init__(self, per_step_flops: int, steps: int):
        self.threads = torch.get_num_threads()
        self.narrow = self.threads > 1 and per_step_flops < SMALL_STEP_FLOPS
        # the GEMMs over the whole sequence are about steps × a step's: a call of a few steps (a
        # decoder's, one step a call) keeps them on one thread too
        self.widen = self.narrow and per_step_flops * steps >= SMALL_STEP_FLOPS
        self._narrowed = one_intra_op_thread() if self.narrow else contextlib.nullcontext()

    def __enter__(self) -> "ThreadPlan":
        self._narrowed.__enter__()
        return self

    def __exit__(self, *exc_info) -> None:
        self._narrowed.__exit__(*exc_info)

    def wide(self) -> contextlib.AbstractContextManager[None]:
        """All threads for the duration of one big GEMM (one over the sequence's steps)."""
        return intra_op_threads(self.threads) if self.widen else contextlib.nullcontext()


# Below this many multiply-adds per step, steps run on one thread. Measured on 2 cores (B = 32):
# one thread wins for the LSTM at H = 128 (2.1M per step); two win by 5-15 % for the LSTM and GRU
# at H = 256 (8.4M and 6.3M per step).
SMALL_STEP_FLOPS = 1 << 22


def all_finite(tensor: Tensor) -> bool:
    """True when every entry is finite: one reduction read as a Python number (a few µs, which
    counts at every step of a cell loop); the exact check only if the sum is not finite (an inf
    or NaN entry, or finite entries whose sum overflows)."""
    total = tensor.sum().item()
    finite = cmath.isfinite(total) if isinstance(total, complex) else math.isfinite(total)
    return finite or bool(torch.isfinite(tensor).all())


def finish_backward(spec: LayerSpec, hidden_grad: Tensor, cell_grad: Tensor | None) -> None:
    """Send δh_t (and δc_t), mapped back to time order, to the recorder; check finiteness.

    An inf or NaN anywhere in the reverse scan reaches scan step 0 (0·inf is NaN), so only that
    step is checked unless it is bad; then the first bad step is searched for.
    """
    layout = spec.layout
    for quantity, grad in (("hidden_grad", hidden_grad), ("cell_grad", cell_grad)):
        if grad is not None and not all_finite(grad[0]) and not all_finite(grad):
            step = layout.first_bad_step(grad, spec.reverse, backward=True)
            spec.recorder.mark_nonfinite(quantity, spec.key, step)
    spec.recorder.record_backward(
        spec.key,
        layout.scan_order(hidden_grad, spec.reverse),
        None if cell_grad is None else layout.scan_order(cell_grad, spec.reverse),
    )


def check_forward(spec: LayerSpec, states: Tensor, final_states: Tensor, quantity: str) -> None:
    """Mark the first non-finite state of the forward scan, if any.

    An inf or NaN state reaches the final state (through f·inf = inf or 0·inf = NaN), so only
    the final states are checked unless they are bad; then the first bad step is searched for.
    """
    if not all_finite(final_states) and not all_finite(states):
        step = spec.layout.first_bad_step(states, spec.reverse, backward=False)
        spec.recorder.mark_nonfinite(quantity, spec.key, step)


def zero_padding(spec: LayerSpec, *per_step: Tensor) -> None:
    """In place: zero ``(T, B, ...)`` tensors at padded steps, so nothing flows through padding.

    The scan runs over padding too (garbage in, garbage out); this also clears any inf/NaN the
    garbage produced, so only valid steps can be reported as non-finite.
    """
    padding = spec.layout.padding()  # (T, B, 1)
    if padding is None:
        return
    for tensor in per_step:
        tensor.masked_fill_(padding.view(padding.shape + (1,) * (tensor.dim() - 3)), 0.0)
