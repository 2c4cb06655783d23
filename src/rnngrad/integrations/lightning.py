"""Gradient flow through time, logged from a PyTorch Lightning ``Trainer`` (optional extra ``lightning``).

Every ``every`` optimizer steps, :class:`GradientFlowCallback` runs the LightningModule's own
``training_step`` inside :func:`rnngrad.profile` (``accumulate_grad=True``) in place of Lightning's
backward, then logs per recurrent module, layer and direction the memory horizon, the decay rate
(nats per step) and (for an LSTM) the mean forget gate as scalars, and a heatmap of log10 mean
|dL/dh_t| (units × time) as an image, through every logger of the trainer (images only where the
logger can take them, as ``TensorBoardLogger`` can)::

    trainer = lightning.Trainer(max_steps=1000, callbacks=[GradientFlowCallback(every=100)])

Design. Lightning's automatic optimization calls ``training_step`` inside its closure and then
``LightningModule.backward(loss)``. On a profiled step the callback puts two one-shot wrappers on the
module instance (removed again when they have run, and at the end of the batch whatever happened):

- ``training_step`` runs the original one as the forward of :func:`rnngrad.profile`, whose loss is the
  step's loss divided by ``accumulate_grad_batches`` as Lightning's closure would; the parameter
  gradients the profile computes (``accumulate_grad=True``, from ``.grad`` set aside to None) are kept
  apart and ``.grad`` is put back as found, since Lightning zeroes gradients *after* ``training_step``;
  the wrapper returns the loss value (detached);
- ``backward`` adds those gradients to ``.grad``, exactly what ``loss.backward()`` would add at that
  moment, so zeroing, accumulation, clipping, the optimizer step, hooks and loss logging go on as usual.

Limits, refused with a clear message at the start of fit: manual optimization (``training_step``
calls ``manual_backward`` itself: use :class:`rnngrad.integrations.tensorboard.GradientFlowLogger`
there), precision other than 32 or 64 bit (a gradient scaler or autocast would see a loss it did not
scale), and more than one process (DDP's gradient hooks are bypassed). On a profiled step
``training_step`` must return a loss tensor or a dict with ``"loss"``; its other outputs are
dropped. With gradient accumulation the first micro-batch of a profiled optimizer step is profiled.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from rnngrad.errors import InputError, require_positive_int
from rnngrad.profiler import GradientProfile, profile

try:
    import lightning.pytorch as pl
except ImportError as error:  # pragma: no cover - the message is the point
    raise ImportError("rnngrad.integrations.lightning needs Lightning: pip install 'rnngrad[lightning]'") from error

_PRECISIONS = ("32-true", "32", "64-true", "64")
_PATCHED = ("training_step", "backward")


class _TrainingStep(nn.Module):
    """The module's original ``training_step`` as a forward, so that ``profile`` can run it."""

    def __init__(self, module: pl.LightningModule, step: Any, kwargs: dict[str, Any]) -> None:
        super().__init__()
        self.module = module  # a child: profile finds its recurrent submodules (named "module.…")
        self._step = functools.partial(step, **kwargs)

    def forward(self, *args: Any) -> Any:
        return self._step(*args)


def _loss_of(output: Any, accumulate: int) -> Tensor:
    loss = output.get("loss") if isinstance(output, Mapping) else output
    if not isinstance(loss, Tensor) or loss.dim() != 0:
        raise InputError("training_step: expected a scalar loss tensor or a dict with 'loss' on a profiled step, "
                         f"got {type(output).__name__}")
    return loss / accumulate  # as Lightning's closure normalises it before backward


class GradientFlowCallback(pl.Callback):
    """Profile a LightningModule's recurrent modules every ``every`` optimizer steps and log the flow.

    Args:
        every: profile at global steps 0, every, 2·every, …; a plain step otherwise.
        prefix: first part of every tag: ``{prefix}/{module}/layer{l}[_reverse]/{memory_horizon,
            decay_rate_nats_per_step, mean_forget_gate}``, ``{prefix}/loss`` and the image
            ``{prefix}/{module}/layer{l}[_reverse]/hidden_grad_heatmap``.
        eps: threshold of the memory horizon (:meth:`GradientProfile.memory_horizon`).
    """

    def __init__(self, every: int = 100, prefix: str = "gradient_flow", eps: float = 1e-2) -> None:
        super().__init__()
        self.every = require_positive_int("every", every)
        if not isinstance(prefix, str) or not prefix:
            raise InputError(f"prefix: expected a non-empty string, got {prefix!r}")
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not 0 < eps < 1:
            raise InputError(f"eps: expected a number in (0, 1), got {eps!r}")
        self.prefix, self.eps = prefix, float(eps)
        self.last_profile: GradientProfile | None = None  # the latest profile, for a look after fit
        self._profiled_step: int | None = None

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not pl_module.automatic_optimization:
            raise InputError("GradientFlowCallback: expected a LightningModule with automatic optimization, got "
                             "manual optimization (use rnngrad.integrations.tensorboard.GradientFlowLogger.backward "
                             "in place of manual_backward)")
        if str(trainer.precision) not in _PRECISIONS:
            raise InputError(f"GradientFlowCallback: expected precision 32 or 64, got {trainer.precision!r}")
        if trainer.world_size != 1:
            raise InputError(f"GradientFlowCallback: expected one process, got world_size {trainer.world_size}")

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule, batch: Any,
                             batch_idx: int) -> None:
        step = trainer.global_step
        if step % self.every or step == self._profiled_step:
            return
        self._profiled_step = step
        original = {name: pl_module.__dict__.get(name) for name in _PATCHED}  # instance attributes, if any
        step_method = pl_module.training_step

        def restore(name: str) -> None:
            if pl_module.__dict__.get(name) is patched[name]:
                if original[name] is None:
                    del pl_module.__dict__[name]
                else:
                    pl_module.__dict__[name] = original[name]

        gradients: dict[nn.Parameter, Tensor] = {}

        def profiled_training_step(*args: Any, **kwargs: Any) -> Tensor:
            restore("training_step")
            accumulate = trainer.accumulate_grad_batches
            parameters = [p for p in pl_module.parameters() if p.requires_grad]
            found = [p.grad for p in parameters]
            for parameter in parameters:  # Lightning zeroes .grad after training_step: keep ours apart
                parameter.grad = None
            try:
                result = profile(_TrainingStep(pl_module, step_method, kwargs), args,
                                 lambda output: _loss_of(output, accumulate), accumulate_grad=True)
                gradients.update((p, p.grad) for p in parameters if p.grad is not None)
            finally:
                for parameter, grad in zip(parameters, found):
                    parameter.grad = grad
            self.last_profile = result
            self._log(trainer, step, result)
            return torch.tensor(result.loss * accumulate, device=pl_module.device)  # Lightning divides it again

        def backward_from_profile(loss: Tensor, *args: Any, **kwargs: Any) -> None:
            restore("backward")
            with torch.no_grad():
                for parameter, grad in gradients.items():  # what loss.backward() would add, here and now
                    parameter.grad = grad if parameter.grad is None else parameter.grad.add_(grad)
            gradients.clear()

        patched = {"training_step": profiled_training_step, "backward": backward_from_profile}
        self._restore = restore
        pl_module.__dict__.update(patched)

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self._undo()

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException) -> None:
        self._undo()

    def _undo(self) -> None:
        restore = self.__dict__.pop("_restore", None)
        if restore is not None:
            for name in _PATCHED:
                restore(name)

    def _log(self, trainer: pl.Trainer, step: int, result: GradientProfile) -> None:
        scalars, images = {f"{self.prefix}/loss": result.loss}, {}
        for name in result.modules:
            record = result.module(name)
            shown = name.removeprefix("module.")  # the name inside the LightningModule
            for layer in range(record.num_layers):
                for direction in range(record.num_directions):
                    tag = f"{self.prefix}/{shown}/layer{layer}" + ("_reverse" if direction else "")
                    scalars[f"{tag}/memory_horizon"] = result.memory_horizon(name, layer, direction, eps=self.eps)
                    scalars[f"{tag}/decay_rate_nats_per_step"] = result.decay_rate(name, layer, direction)
                    if record.kind == "LSTM":
                        scalars[f"{tag}/mean_forget_gate"] = result.mean_forget_gate(name, layer, direction)
                    images[f"{tag}/hidden_grad_heatmap"] = heatmap(result.hidden_grad(name, layer, direction))
        scalars = {tag: float(value) for tag, value in scalars.items()}  # NaN where undefined (one lag)
        for logger in trainer.loggers:
            logger.log_metrics(scalars, step=step)
            add_image = getattr(getattr(logger, "experiment", None), "add_image", None)
            if callable(add_image):
                for tag, image in images.items():
                    add_image(tag, image, step, dataformats="HWC")


def heatmap(hidden_grad: Tensor, scale: int = 4) -> np.ndarray:
    """An RGB image (uint8, (H·scale, T·scale, 3)) of log10 mean_b |dL/dh_{t,i}|: a row per unit i,
    a column per step t (time runs to the right), viridis from the smallest to the largest value."""
    from matplotlib import colormaps

    magnitude = hidden_grad.detach().abs().double().mean(dim=1).T.cpu()  # (H, T)
    logs = torch.log10(magnitude)
    finite = logs[torch.isfinite(logs)]
    low, high = (float(finite.min()), float(finite.max())) if finite.numel() else (0.0, 1.0)
    share = ((logs - low) / max(high - low, 1e-12)).nan_to_num(0.0, posinf=1.0, neginf=0.0).clamp(0, 1)
    rgb = colormaps["viridis"](share.numpy())[..., :3]  # (H, T, 3) in [0, 1]
    rgb = np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)
    return (rgb * 255).round().astype(np.uint8)
