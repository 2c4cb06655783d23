"""Per-step gradients dL/dh_t inside fused ``torch.nn.RNN``, ``LSTM`` and ``GRU`` modules and
rnngrad's ``MinGRU``, ``MinLSTM`` and ``LRU``."""

from rnngrad.profiler._model_state import is_profiled
from rnngrad.profiler._profile import profile
from rnngrad.profiler.gradient_profile import GradientProfile, NonFiniteMark

__all__ = ["GradientProfile", "NonFiniteMark", "is_profiled", "profile"]
