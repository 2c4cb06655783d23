r"""``train(TrainConfig) -> TrainResult``: one seeded run on a long-lag task, early-stopped.

Each step draws a fresh batch, scores it (the task's per-sequence loss and criterion), and
updates the weights:

.. math::

    L = \frac{1}{B} \sum_b \ell_b,\qquad g = \nabla_\theta L,\qquad
    g \leftarrow \text{clip}(g)\ \text{(Pascanu et al. 2013, Alg. 1)},\qquad
    \theta \leftarrow \text{Adam or RMSprop}(\theta, g)                                  \tag{1}

The run is *solved* at the first step where the task's criterion holds on the window of the
most recent sequences (scored before the update on them, as HS97 count "sequences processed
correctly"), or on the task's test split every ``eval_every`` steps. It *diverged* at the first
step whose loss is not finite, and *failed* if neither happens within ``steps``.

On the CPU a run is a function of its config: the weights come from a generator seeded by
``seed``, the data from a second one, and nothing reads torch's global random state.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import torch
from torch import nn

from rnngrad.models import build_model
from rnngrad.tasks import Task, make_task
from rnngrad.training.clipping import clip_gradient_norm_
from rnngrad.training.config import TrainConfig, TrainResult
from rnngrad.training.gradient_profiles import gradient_profile_summary
from rnngrad.training.window import RollingWindow


@dataclass(frozen=True)
class TrainProgress:
    """What a progress callback sees, every ``log_every`` steps and once at the end."""

    step: int
    steps: int  # the budget
    loss: float  # mean training loss since the last report
    accuracy: float | None  # window or held-out accuracy (None before the first measurement)
    status: str | None = None  # set on the final report


ProgressCallback = Callable[[TrainProgress], None]


def train(config: TrainConfig, on_progress: ProgressCallback | None = None) -> TrainResult:
    """Train ``config.model`` on ``config.task`` by eq. (1) and report how it went.

    Args:
        config: the run (validated when it was built; its sizes are held to the element budget
            here, :meth:`TrainConfig.check_budget`).
        on_progress: called with a :class:`TrainProgress` every ``config.log_every`` steps and
            once at the end; the library never prints.

    Returns:
        A :class:`TrainResult` with status, step count, loss and accuracy curves and any
        gradient profiles.

    Examples:
        >>> result = train(TrainConfig(task="adding", T=10, model="lstm", steps=5, batch_size=4))
        >>> result.status, result.steps
        ('failed', 5)
    """
    config.check_budget()  # sizes before anything is allocated
    start = time.perf_counter()
    task = make_task(config.task, config.T)
    model = build_model(config.model, task.input_size, config.hidden_size, task.output_size,
                        task.every_step, task.max_length, _generator(config.seed, "model"))
    model.train()
    data = _generator(config.seed, "data")
    parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
    optimizer = _optimizer(config, parameters)
    scheduler = _scheduler(config, optimizer)
    window = RollingWindow(task.window) if task.window else None
    held_out = task.held_out()

    loss_curve: list[tuple[int, float]] = []
    accuracy_curve: list[tuple[int, float]] = []
    profiles: list[dict] = []
    status, step = "failed", 0
    interval_loss, interval_steps = 0.0, 0
    measured: tuple[float, float] | None = None  # (mean loss, accuracy) the criterion last read
    for step in range(1, config.steps + 1):
        batch = task.sample(config.batch_size, data)
        scores = task.score(model(batch.inputs), batch.targets)
        loss = scores.loss.mean()  # (1)
        loss_value = float(loss.detach())
        if not math.isfinite(loss_value):
            status = "diverged"
            break
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if config.clip is not None:
            clip_gradient_norm_(parameters, config.clip)  # (1)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        interval_loss, interval_steps = interval_loss + loss_value, interval_steps + 1

        if window is not None:
            window.add(loss_value * config.batch_size, int(scores.correct.sum()), config.batch_size)
            measured = (window.mean_loss, window.accuracy)
            solved = window.full and task.solved(*measured)
        elif held_out is not None and step % config.eval_every == 0:
            measured = _evaluate(model, task, held_out.inputs, held_out.targets)
            solved = task.solved(*measured)
        else:
            solved = False
        if config.profile_every and step % config.profile_every == 0:
            profile = _profile(model, task, batch.inputs, batch.targets, config.profile_batch, step)
            if profile is not None:
                profiles.append(profile)
        if solved:
            status = "solved"
            break
        if step % config.log_every == 0:
            _log(step, config, interval_loss / interval_steps, measured, loss_curve, accuracy_curve, on_progress)
            interval_loss, interval_steps = 0.0, 0

    if status == "failed" and held_out is not None and step % config.eval_every:
        measured = _evaluate(model, task, held_out.inputs, held_out.targets)  # the final weights
        status = "solved" if task.solved(*measured) else "failed"
    if interval_steps:
        _log(step, config, interval_loss / interval_steps, measured, loss_curve, accuracy_curve, None)
    if on_progress is not None:
        last_loss = loss_curve[-1][1] if loss_curve else math.nan
        accuracy = None if measured is None else measured[1]
        on_progress(TrainProgress(step, config.steps, last_loss, accuracy, status))
    return TrainResult(
        config=config,
        status=status,
        steps=step,
        sequences=step * config.batch_size,
        loss_curve=tuple(loss_curve),
        accuracy_curve=tuple(accuracy_curve),
        final_loss=None if measured is None else measured[0],
        final_accuracy=None if measured is None else measured[1],
        wall_time_s=time.perf_counter() - start,
        profiles=tuple(profiles),
    )


def _generator(seed: int, stream: str) -> torch.Generator:
    """An independent generator per stream ("model", "data") derived from one seed."""
    digest = hashlib.sha256(f"rnngrad:{seed}:{stream}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


def _optimizer(config: TrainConfig, parameters: Iterable[nn.Parameter]) -> torch.optim.Optimizer:
    if config.optimizer == "adam":
        return torch.optim.Adam(parameters, lr=config.lr)
    return torch.optim.RMSprop(parameters, lr=config.lr)


def _scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer):
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.steps)
    return None


@torch.no_grad()
def _evaluate(model: nn.Module, task: Task, inputs: torch.Tensor, targets: torch.Tensor) -> tuple[float, float]:
    scores = task.score(model(inputs), targets)
    return float(scores.loss.mean()), float(scores.correct.float().mean())


def _profile(model: nn.Module, task: Task, inputs: torch.Tensor, targets: torch.Tensor,
             size: int, step: int) -> dict | None:
    inputs, targets = inputs[:size], targets[:size]
    return gradient_profile_summary(model, inputs, lambda outputs: task.score(outputs, targets).loss.mean(), step)


def _log(step: int, config: TrainConfig, loss: float, measured: tuple[float, float] | None,
         loss_curve: list, accuracy_curve: list, on_progress: ProgressCallback | None) -> None:
    loss_curve.append((step, loss))
    if measured is not None:
        accuracy_curve.append((step, measured[1]))
    if on_progress is not None:
        accuracy = None if measured is None else measured[1]
        on_progress(TrainProgress(step, config.steps, loss, accuracy))
