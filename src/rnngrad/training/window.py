"""The most recent training sequences, as whole batches: the window a success criterion reads.

With fresh data every step, the sequences a model has just processed (before its update on
them) are an unbiased test sample; HS97 stop "when the 2000 most recent sequences were
processed correctly".
"""

from __future__ import annotations

from collections import deque


class RollingWindow:
    """Mean loss and accuracy over the fewest most recent whole batches holding ≥ ``size`` sequences.

    Examples:
        >>> window = RollingWindow(4)
        >>> for loss_sum, correct in [(4.0, 0), (2.0, 2), (1.0, 2)]:
        ...     window.add(loss_sum, correct, count=2)
        >>> window.full, window.mean_loss, window.accuracy
        (True, 0.75, 1.0)
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._batches: deque[tuple[int, float, int]] = deque()  # (count, loss sum, correct)
        self._count, self._correct = 0, 0

    def add(self, loss_sum: float, correct: int, count: int) -> None:
        """Add one batch: the sum of its per-sequence losses, how many were correct, its size."""
        self._batches.append((count, loss_sum, correct))
        self._count += count
        self._correct += correct
        while self._batches and self._count - self._batches[0][0] >= self.size:
            old_count, _, old_correct = self._batches.popleft()
            self._count -= old_count
            self._correct -= old_correct

    @property
    def full(self) -> bool:
        """Whether the window holds at least ``size`` sequences."""
        return self._count >= self.size

    @property
    def count(self) -> int:
        return self._count

    @property
    def mean_loss(self) -> float:
        # summed afresh (≤ size batches) so no rounding error accumulates over a long run
        return sum(batch[1] for batch in self._batches) / self._count if self._count else float("nan")

    @property
    def accuracy(self) -> float:
        return self._correct / self._count if self._count else float("nan")
