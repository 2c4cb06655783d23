"""The adapter between training and :mod:`rnngrad.profiler`: a small JSON summary per profile.

The profiler records dL/dh_t inside fused torch.nn RNN/LSTM/GRU modules, rnngrad's diagonal
modules and cells stepped in a loop (``rnn-sigmoid``, ``lstm-nofg``). Training stores only a
digest of each profile: the mean ‖dL/dh_t‖ by lag k back from the end, the decay rate (nats per
step) and memory horizon of that curve, and for a fused LSTM the mean forget gate. If the model
has no module the profiler takes, there is no profile; if the profiler fails, the entry records
the error instead, and training goes on.
"""

from __future__ import annotations

from typing import Any, Callable

from torch import Tensor, nn

from rnngrad._json import finite_or_none
from rnngrad.profiler import is_profiled, profile


def gradient_profile_summary(
    model: nn.Module, inputs: Tensor, loss_fn: Callable[[Tensor], Tensor], step: int
) -> dict[str, Any] | None:
    """Profile one forward and backward of ``loss_fn(model(inputs))`` and digest it.

    Leaves the model, its gradients and the optimizer untouched (the profiler restores them).

    Returns:
        ``{"step", "module", "loss", "norm_by_lag", "decay_rate_nats_per_step",
        "memory_horizon", "mean_forget_gate"}`` (``mean_forget_gate`` None for RNN and GRU), ``{"step", "error"}``
        if profiling failed, or None when there is nothing to profile.
    """
    if not any(is_profiled(module) for module in model.modules()):
        return None
    try:
        result = profile(model, (inputs,), loss_fn)
        name = result.modules[0]
        is_lstm = result.module(name).kind == "LSTM"
        return {
            "step": step,
            "module": name,
            "loss": finite_or_none(result.loss),
            "norm_by_lag": [finite_or_none(value) for value in result.hidden_grad_norm_by_lag(name).tolist()],
            "decay_rate_nats_per_step": finite_or_none(result.decay_rate(name)),
            "memory_horizon": int(result.memory_horizon(name)),
            "mean_forget_gate": finite_or_none(result.mean_forget_gate(name)) if is_lstm else None,
        }
    except Exception as error:  # a diagnostic must not end the training run
        return {"step": step, "error": f"{type(error).__name__}: {error}"}
