"""Denormal floats flushed to zero for a while, and the caller's mode restored exactly.

Gradients and Jacobian products that vanish through time pass through the denormal range
(below 2.2e-308 in float64, 1.2e-38 in float32), where CPU arithmetic runs up to hundreds of
times slower. Flushed, such values are 0. The mode is a per-thread CPU flag (MXCSR's FTZ/DAZ on
x86), so a context changes only the thread it runs on.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch


def denormals_flushed() -> bool:
    """True when this thread flushes denormal floats to zero (probed with a float32 denormal)."""
    return float(torch.tensor([1e-40], dtype=torch.float32).mul(1.0)) == 0.0


@contextlib.contextmanager
def flushing_denormals() -> Iterator[None]:
    """Flush denormals to zero in this thread for the duration, then restore the mode found
    before (on or off), also on an exception or when the body changed it. Where the CPU cannot
    flush, the body runs unchanged."""
    before = denormals_flushed()
    supported = before or torch.set_flush_denormal(True)
    try:
        yield
    finally:
        if supported:
            torch.set_flush_denormal(before)
