"""Per-step gradients dL/dh_t inside recurrent models: fused ``torch.nn.RNN``, ``LSTM`` and
``GRU`` modules, rnngrad's ``MinGRU``, ``MinLSTM`` and ``LRU``, cells stepped in a loop, and
any recurrence whose state is marked with ``track``."""

from rnngrad.profiler._model_state import is_profiled
from rnngrad.profiler._profile import profile
from rnngrad.profiler._tracking import track
from rnngrad.profiler.gradient_profile import GradientProfile, NonFiniteMark

__all__ = ["GradientProfile", "NonFiniteMark", "is_profiled", "profile", "track"]
