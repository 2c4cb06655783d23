r"""The temporal-order problem, Hochreiter & Schmidhuber 1997 experiment 6a.

Eight symbols, one-hot: distractors a, b, c, d; the relevant X and Y; the start E and the
trigger B. A sequence starts with E, ends with B, and otherwise holds random distractors except
at two positions t₁ and t₂, which hold X or Y. Its class is the order of the two:

.. math::

    (X, X) \to Q,\quad (X, Y) \to R,\quad (Y, X) \to S,\quad (Y, Y) \to U              \tag{1}

    \text{correct} \iff |p_k - [k = \text{class}]| < 0.3 \text{ for all four outputs } k  \tag{2}

    \text{solved} \iff \text{the 2000 most recent sequences are correct}              \tag{3}

For T = 100 (the paper's only setting) the length is drawn from [100, 110], t₁ from [10, 20] and
t₂ from [50, 60]; for other T we scale these: length in [T, T + T/10], t₁ in [T/10, T/5], t₂ in
[T/2, 3T/5].

Deviations: the paper's outputs are sigmoid units trained on squared error; ours are a softmax
trained on cross-entropy, and (2) is applied to the softmax probabilities. HS97 also require a
mean training error below 0.1; every sequence correct by (2) already gives a squared error per
output below 0.3² = 0.09. All sequences of a batch share one length, drawn afresh per batch.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnngrad.tasks._task import Batch, SequenceScores, Task, check_batch_size, one_hot, random_length

DISTRACTORS = 4  # a, b, c, d = 0..3
X, Y, START, TRIGGER = 4, 5, 6, 7
SYMBOLS = 8
CLASS_NAMES = ("Q", "R", "S", "U")  # (1)
TOLERANCE = 0.3  # (2)


class TemporalOrder(Task):
    """Classify the order of two widely separated symbols, eqs. (1)–(3).

    Worked example (T = 10: length 10 or 11, t₁ ∈ [1, 2], t₂ ∈ [5, 6]):

    =====  =  =  =  =  =  =  =  =  =  =
    t      0  1  2  3  4  5  6  7  8  9
    input  E  c  Y  a  d  X  b  b  a  B
    =====  =  =  =  =  =  =  =  =  =  =

    Y then X is class S (index 2). Output probabilities (0.05, 0.1, 0.8, 0.05) are correct by
    (2); (0.05, 0.1, 0.65, 0.2) are not (|0.65 − 1| ≥ 0.3).

    Shape:
        ``Batch.inputs`` (B, L, 8) one-hot. ``Batch.targets`` (B,) int64 in 0..3. Outputs (B, 4).

    Examples:
        >>> batch = TemporalOrder(T=100).sample(4, torch.Generator().manual_seed(0))
        >>> batch.inputs.shape[2], bool((batch.inputs[:, 0, START] == 1).all())
        (8, True)
    """

    name = "temporal-order"
    input_size = SYMBOLS
    output_size = len(CLASS_NAMES)
    source = "Hochreiter & Schmidhuber 1997, exp. 6a"
    criterion = "the 2000 most recent sequences have every output within 0.3 of its target"
    min_T = 10  # t₁ ≥ 1 and t₂ > t₁ after scaling

    @property
    def max_length(self) -> int:
        return self.T + self.T // 10

    def positions(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """Inclusive ranges of t₁ and t₂ for this T ((10, 20) and (50, 60) at T = 100)."""
        T = self.T
        return (round(T / 10), round(T / 5)), (round(T / 2), round(3 * T / 5))

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        B = check_batch_size(batch_size)
        L = random_length(self.T, generator)
        (low_1, high_1), (low_2, high_2) = self.positions()
        symbols = torch.randint(0, DISTRACTORS, (B, L), generator=generator)  # (B, L)
        symbols[:, 0], symbols[:, -1] = START, TRIGGER
        t1 = torch.randint(low_1, high_1 + 1, (B, 1), generator=generator)  # (B, 1)
        t2 = torch.randint(low_2, high_2 + 1, (B, 1), generator=generator)
        first_is_y = torch.randint(0, 2, (B, 1), generator=generator)  # 0: X, 1: Y
        second_is_y = torch.randint(0, 2, (B, 1), generator=generator)
        symbols.scatter_(1, t1, X + first_is_y).scatter_(1, t2, X + second_is_y)
        targets = (2 * first_is_y + second_is_y).squeeze(1)  # (1), (B,)
        return Batch(one_hot(symbols, SYMBOLS), targets)  # (B, L, 8)

    def score(self, outputs: Tensor, targets: Tensor) -> SequenceScores:
        loss = torch.nn.functional.cross_entropy(outputs, targets, reduction="none")  # (B,)
        probabilities = outputs.detach().softmax(-1)  # (B, 4)
        wanted = torch.nn.functional.one_hot(targets, self.output_size)  # (B, 4)
        correct = ((probabilities - wanted).abs() < TOLERANCE).all(1)  # (2)
        return SequenceScores(loss, correct)

    def solved(self, mean_loss: float, accuracy: float) -> bool:
        return accuracy >= 1.0  # (3)
