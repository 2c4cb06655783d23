"""Per-step gradients dL/dh_t inside fused ``torch.nn.RNN``, ``LSTM`` and ``GRU`` modules."""

from rnngrad.profiler._profile import profile
from rnngrad.profiler.gradient_profile import GradientProfile, NonFiniteMark

__all__ = ["GradientProfile", "NonFiniteMark", "profile"]
