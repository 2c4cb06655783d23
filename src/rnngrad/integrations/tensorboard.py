"""Log how gradients flow back through time to TensorBoard while a model trains.

Every ``every`` steps the logger runs :func:`rnngrad.profiler.profile` in place of
``loss.backward()`` (``accumulate_grad=True``, so the optimizer sees the same gradients) and
writes, per recurrent module, layer and direction, the scalars of the profile's summary; in
between it runs a plain backward. Any object with ``add_scalar(tag, value, step)`` and
``add_text(tag, text, step)`` works as the writer, e.g. ``torch.utils.tensorboard.SummaryWriter``
(install the ``tensorboard`` extra)::

    logger = GradientFlowLogger(SummaryWriter("runs/lstm"), every=100)
    for step, (x, y) in enumerate(batches):
        optimizer.zero_grad()
        loss = logger.backward(step, model, (x,), lambda out: criterion(out, y))
        optimizer.step()

Tags: ``{prefix}/{module or "model"}/layer{l}[_reverse]/{decay_rate, memory_horizon,
grad_norm_first_step, grad_norm_last_step[, mean_forget_gate, log10_carousel_product]}``.
"""

from __future__ import annotations

from typing import Any, Callable

from torch import Tensor, nn

from rnngrad.errors import InputError, require_positive_int
from rnngrad.profiler import GradientProfile, profile
from rnngrad.profiler.render import HORIZON_EPS, summary

_SCALARS = ("decay_rate", "memory_horizon", "mean_forget_gate", "log10_carousel_product")


class GradientFlowLogger:
    """Profile every ``every``-th training step and log its gradient-flow summary.

    Args:
        writer: a TensorBoard ``SummaryWriter`` (or anything with ``add_scalar``/``add_text``).
        every: profile steps 0, every, 2·every, ...; plain ``loss.backward()`` otherwise.
        prefix: first part of every tag.
        eps: threshold of the memory horizon.
    """

    def __init__(
        self, writer: Any, every: int = 100, prefix: str = "gradient_flow", eps: float = HORIZON_EPS
    ):
        if not callable(getattr(writer, "add_scalar", None)):
            raise InputError(
                f"writer: expected an object with add_scalar (a SummaryWriter), got {type(writer).__name__}"
            )
        self.writer = writer
        self.every = require_positive_int("every", every)
        self.prefix = prefix
        self.eps = eps

    def backward(self, step: int, model: nn.Module, inputs: tuple, loss_fn: Callable[[Any], Tensor]) -> float:
        """Forward, loss and backward for one training step; returns the loss value."""
        if step % self.every == 0:
            result = profile(model, inputs, loss_fn, accumulate_grad=True)
            self.log(step, result)
            return result.loss
        loss = loss_fn(model(*inputs))
        loss.backward()
        return float(loss.detach())

    def log(self, step: int, result: GradientProfile) -> None:
        """Write the scalars of one profile at ``step``."""
        data = summary(result, eps=self.eps)
        for entry in data["layers"]:
            tag = f"{self.prefix}/{entry['module'] or 'model'}/layer{entry['layer']}"
            tag += "_reverse" if entry["direction"] else ""
            values = {name: entry[name] for name in _SCALARS if name in entry}
            values["grad_norm_first_step"] = entry["mean_grad_norm_by_time"][0]
            values["grad_norm_last_step"] = entry["mean_grad_norm_by_time"][-1]
            for name, value in values.items():
                self.writer.add_scalar(f"{tag}/{name}", float("nan") if value is None else value, step)
        if data["nonfinite"] is not None and callable(getattr(self.writer, "add_text", None)):
            self.writer.add_text(f"{self.prefix}/nonfinite", str(data["nonfinite"]), step)
        if data["loss"] is not None:
            self.writer.add_scalar(f"{self.prefix}/loss", data["loss"], step)
