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

Tags, per recurrent module, chain, layer and direction, ``{prefix}/{module or "model"}[/call{k}]
/layer{l}[_reverse]/...`` (``/call{k}`` for chains k ≥ 1 of a module called several times):

- scalars ``decay_rate_nats_per_step`` (the gradient shrinks by e^{−rate} per step back),
  ``memory_horizon``, ``grad_norm_first_step``, ``grad_norm_last_step`` and, for an LSTM,
  ``mean_forget_gate``, ``log10_carousel_product``;
- a histogram ``log10_grad_norm`` of log10 ‖dL/dh_t‖ over the steps t of the profiled batch
  (mean over sequences; log10, because the norms span many decades);
- an image ``heatmap`` (with a writer that has ``add_figure``): log10 ‖dL/dh_t‖ over time step t
  (x) and training step (y), one row per profiled step so far, drawn anew at each.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np
from torch import Tensor, nn

from rnngrad.errors import InputError, require_positive_int
from rnngrad.profiler import GradientProfile, profile
from rnngrad.profiler.render import HORIZON_EPS, summary

_SCALARS = ("decay_rate_nats_per_step", "memory_horizon", "mean_forget_gate", "log10_carousel_product")


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
        self._history: dict[str, list[tuple[int, list[float | None]]]] = {}  # tag → (step, norms by t)

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
            tag = f"{self.prefix}/{entry['module'] or 'model'}"
            tag += f"/call{entry['call']}" if entry["call"] else ""
            tag += f"/layer{entry['layer']}" + ("_reverse" if entry["direction"] else "")
            by_time = entry["mean_grad_norm_by_time"]
            values = {name: entry[name] for name in _SCALARS if name in entry}
            values["grad_norm_first_step"] = by_time[0]
            values["grad_norm_last_step"] = by_time[-1]
            for name, value in values.items():
                self.writer.add_scalar(f"{tag}/{name}", float("nan") if value is None else value, step)
            logs = _log10(by_time)
            finite = logs[np.isfinite(logs)]
            if finite.size and callable(getattr(self.writer, "add_histogram", None)):
                self.writer.add_histogram(f"{tag}/log10_grad_norm", finite, step)
            self._history.setdefault(tag, []).append((step, by_time))
            if callable(getattr(self.writer, "add_figure", None)):
                self.writer.add_figure(f"{tag}/heatmap", heatmap_figure(self._history[tag]), step)
        if data["nonfinite"] is not None and callable(getattr(self.writer, "add_text", None)):
            self.writer.add_text(f"{self.prefix}/nonfinite", str(data["nonfinite"]), step)
        if data["loss"] is not None:
            self.writer.add_scalar(f"{self.prefix}/loss", data["loss"], step)


def _log10(norms: list[float | None]) -> np.ndarray:
    """log10 of each norm; NaN where a norm is None (non-finite) or not positive."""
    return np.array([math.log10(n) if n is not None and n > 0 else math.nan for n in norms])


def heatmap_figure(history: list[tuple[int, list[float | None]]]):
    """A matplotlib Figure of log10 ‖dL/dh_t‖: time step t across, training step down."""
    from matplotlib.figure import Figure

    steps = max(len(norms) for _, norms in history)
    image = np.full((len(history), steps), math.nan)  # (profiled steps, T); NaN: none
    for row, (_, norms) in enumerate(history):
        image[row, : len(norms)] = _log10(norms)
    figure = Figure(figsize=(6, 3), layout="constrained")
    axes = figure.add_subplot()
    shown = axes.imshow(image, aspect="auto", interpolation="nearest", cmap="viridis",
                        extent=(-0.5, steps - 0.5, len(history) - 0.5, -0.5))
    axes.set_yticks(range(len(history)), [str(step) for step, _ in history])
    axes.set_xlabel("time step t")
    axes.set_ylabel("training step")
    figure.colorbar(shown, ax=axes, label="log10 ‖dL/dh_t‖")
    return figure
