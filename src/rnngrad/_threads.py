"""Torch's intra-op thread count, set for a while and restored."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch


@contextlib.contextmanager
def one_intra_op_thread() -> Iterator[None]:
    """Run the body on one intra-op thread (for loops of small ops, where waking a second thread
    for each op costs more than the op, or where other threads have other work); the previous
    count is restored afterwards, also on an exception."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
