"""Torch's intra-op thread count, set for a while and restored."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch


@contextlib.contextmanager
def intra_op_threads(count: int) -> Iterator[None]:
    """Run the body on ``count`` intra-op threads; the previous count is restored afterwards,
    also on an exception."""
    previous = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def one_intra_op_thread() -> contextlib.AbstractContextManager[None]:
    """One intra-op thread for the body: for loops of small ops, where waking a second thread
    for each op costs more than the op, or where other threads have other work."""
    return intra_op_threads(1)
