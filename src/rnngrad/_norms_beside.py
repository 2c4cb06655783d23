"""The spectral norms of chunks of Jacobian products, partly on a second thread while the
products of the next chunks run (:func:`rnngrad.jacobian_through_time`'s norms)."""

from __future__ import annotations

import collections
import concurrent.futures
import math

import torch

from rnngrad.linalg import SpectralNormTracker

_FIRST_RUN = 0.5  # share of the chunks whose norms the worker takes (the short lags: the costly part)
_LOOKAHEAD_ELEMENTS = 1 << 23  # products that may wait for the norms' worker: ≤ 64 MiB in float64


class NormsBesideProducts:
    """σ_1 of each chunk of products, partly on a second thread while the products run.

    The products are a chain of small matrix products (one intra-op thread is all they can use),
    so when the caller had two or more threads (``parallel``) the norms run beside them, each
    side on one intra-op thread (torch releases the GIL inside its kernels). The chunks are
    split in two runs of lags, each with its own tracker: a worker certifies the first run
    (short lags, the costly part) as its chunks come, and the calling thread the second run,
    each chunk as soon as it is multiplied. The split does not depend on the thread count, so
    neither do the values; without ``parallel`` both runs are done in line.

    Chunk buffers are recycled: at most ``_LOOKAHEAD_ELEMENTS`` products wait for the worker
    (memory stays bounded whatever T is), and fresh memory, whose first touch costs a page fault
    per 4 KiB, is touched as little as that allows.
    """

    def __init__(self, chunks: int, allocate, chunk_shape: tuple[int, ...], parallel: bool) -> None:
        self.first_run = math.ceil(_FIRST_RUN * chunks)  # chunks for the worker: the shorter lags
        state_size = chunk_shape[-1]
        self.trackers = (SpectralNormTracker(state_size), SpectralNormTracker(state_size))
        self.allocate, self.chunk_shape = allocate, chunk_shape
        self.parallel = parallel
        self.pool: concurrent.futures.ThreadPoolExecutor | None = None
        self.spans: list[tuple[int, int, torch.Tensor]] = []  # (start, end, Frobenius norms)
        self.sigmas: dict[int, torch.Tensor] = {}  # chunk index -> σ_1 (n, B)
        self.free: list[torch.Tensor] = []  # buffers no one reads
        self.waiting: collections.deque = collections.deque()  # (index, future, buffer)

    def __enter__(self) -> "NormsBesideProducts":
        if self.parallel:
            self.pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, initializer=torch.set_flush_denormal, initargs=(True,)
            )
        return self

    def buffer(self) -> torch.Tensor:
        """A chunk buffer (steps, B, S, S) to fill; waits for the worker if too many are queued."""
        if self.free:
            return self.free.pop()
        if len(self.waiting) * math.prod(self.chunk_shape) >= _LOOKAHEAD_ELEMENTS:
            index, future, buffer = self.waiting.popleft()
            self.sigmas[index] = future.result()
            return buffer
        return self.allocate(self.chunk_shape)

    def submit(self, start: int, end: int, buffer: torch.Tensor, frobenius: torch.Tensor) -> None:
        """Hand over the products R_t (in lag order, for t = end-1 down to start) in ``buffer``
        with their Frobenius norms (n, B, 1, 1), which the tracker's bound (3) reuses."""
        index, products = len(self.spans), buffer[: end - start]
        self.spans.append((start, end, frobenius))
        tracker = self.trackers[0 if index < self.first_run else 1]
        if self.pool is None or index >= self.first_run:
            self.sigmas[index] = tracker.norms(products, frobenius)
            self.free.append(buffer)
        else:
            self.waiting.append((index, self.pool.submit(tracker.norms, products, frobenius), buffer))

    def results(self) -> list[tuple[int, int, torch.Tensor, torch.Tensor]]:
        """(start, end, σ_1 (n, B), Frobenius norms) for every chunk, in submission order."""
        for index, future, _ in self.waiting:
            self.sigmas[index] = future.result()
        self.waiting.clear()
        return [(start, end, self.sigmas[index], frobenius) for index, (start, end, frobenius) in enumerate(self.spans)]

    def __exit__(self, *exc_info) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)  # a failed product must not leave the worker running
