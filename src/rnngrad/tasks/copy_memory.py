r"""The copy-memory problem of Arjovsky, Shah & Bengio 2016.

Ten symbols are an alphabet: a₀..a₇ are data, a₈ is the blank and a₉ the delimiter. The input
is 10 data symbols drawn uniformly, T − 1 blanks, the delimiter, and 10 more blanks: length
T + 20. The target is T + 10 blanks followed by the 10 data symbols in order. The loss is the
cross-entropy averaged over all T + 20 steps. A memoryless model can at best emit blanks and then
guess uniformly among 8 symbols for the last 10 steps:

.. math::

    \text{CE}_{\text{baseline}} = \frac{10 \log 8}{T + 20}                              \tag{1}

    \text{solved} \iff \text{mean CE over the 2000 most recent sequences}
    \le 0.1 \cdot \text{CE}_{\text{baseline}}                                           \tag{2}

(1) is 0.173, 0.0945, 0.065, 0.040 for T = 100, 200, 300, 500; the paper's criterion is "beats
the baseline", read from its curves, and (2) counts it beaten at a tenth of the baseline
(``BEATS_BASELINE``), which noise at the baseline cannot reach. A sequence counts as correct (the accuracy curve) when all 10 recalled
symbols are the argmax.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rnngrad.tasks._task import BEATS_BASELINE, Batch, SequenceScores, Task, check_batch_size, one_hot

DATA_SYMBOLS = 8  # a₀..a₇
BLANK = 8  # a₈
DELIMITER = 9  # a₉
RECALL = 10  # symbols to remember


class CopyMemory(Task):
    """Remember 10 symbols over T steps, recall them after the delimiter, eqs. (1)–(2).

    Worked example (T = 3, digits are symbol indices, ``_`` the blank a₈, ``:`` the delimiter a₉;
    length T + 20 = 23):

    ======  =======================================================
    input   ``5 0 7 7 1 2 6 3 0 4 _ _ : _ _ _ _ _ _ _ _ _ _``
    target  ``_ _ _ _ _ _ _ _ _ _ _ _ _ 5 0 7 7 1 2 6 3 0 4``
    ======  =======================================================

    The baseline (1) is 10 log 8 / 23 = 0.904.

    Shape:
        ``Batch.inputs`` (B, T + 20, 10) one-hot. ``Batch.targets`` (B, T + 20) int64 in 0..8.
        Outputs (B, T + 20, 9) logits over a₀..a₈.

    Examples:
        >>> task = CopyMemory(T=100)
        >>> batch = task.sample(2, torch.Generator().manual_seed(0))
        >>> batch.inputs.shape, round(task.baseline, 3)
        (torch.Size([2, 120, 10]), 0.173)
    """

    name = "copy"
    input_size = 10
    output_size = 9
    every_step = True
    source = "Arjovsky et al. 2016"
    criterion = "mean cross-entropy over the 2000 most recent sequences at most 0.1 × 10·log 8/(T+20)"

    @property
    def max_length(self) -> int:
        return self.T + 2 * RECALL

    @property
    def baseline(self) -> float:
        return RECALL * math.log(DATA_SYMBOLS) / (self.T + 2 * RECALL)  # (1)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        B, T = check_batch_size(batch_size), self.T
        data = torch.randint(0, DATA_SYMBOLS, (B, RECALL), generator=generator)  # (B, 10)
        symbols = torch.full((B, T + 2 * RECALL), BLANK, dtype=torch.long)  # (B, T + 20)
        symbols[:, :RECALL] = data
        symbols[:, RECALL + T - 1] = DELIMITER
        targets = torch.full((B, T + 2 * RECALL), BLANK, dtype=torch.long)
        targets[:, -RECALL:] = data
        return Batch(one_hot(symbols, DELIMITER + 1), targets)  # (B, T + 20, 10)

    def score(self, outputs: Tensor, targets: Tensor) -> SequenceScores:
        B, steps, classes = outputs.shape
        cross_entropy = torch.nn.functional.cross_entropy(
            outputs.reshape(B * steps, classes), targets.reshape(-1), reduction="none"
        ).reshape(B, steps)  # (B, T + 20)
        recalled = outputs.detach()[:, -RECALL:].argmax(-1) == targets[:, -RECALL:]  # (B, 10)
        return SequenceScores(cross_entropy.mean(1), recalled.all(1))

    def solved(self, mean_loss: float, accuracy: float) -> bool:
        return mean_loss <= BEATS_BASELINE * self.baseline  # (2)
