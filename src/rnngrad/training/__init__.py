"""Training on the long-lag tasks: ``train(TrainConfig(...)) -> TrainResult``.

Adam or RMSprop, gradient-norm clipping (Pascanu et al. 2013, Alg. 1), early stop on the task's
success criterion, periodic gradient profiles through :mod:`rnngrad.profiler` when available.
"""

from rnngrad.training.clipping import clip_gradient_norm_
from rnngrad.training.config import OPTIMIZERS, STATUSES, TrainConfig, TrainResult
from rnngrad.training.gradient_profiles import gradient_profile_summary
from rnngrad.training.loop import ProgressCallback, TrainProgress, train
from rnngrad.training.processes import train_all

__all__ = [
    "OPTIMIZERS",
    "STATUSES",
    "ProgressCallback",
    "TrainConfig",
    "TrainProgress",
    "TrainResult",
    "clip_gradient_norm_",
    "gradient_profile_summary",
    "train",
    "train_all",
]
