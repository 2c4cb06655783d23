r"""The adding problem in its two published forms.

**Hochreiter & Schmidhuber 1997, experiment 4** (``"adding"``). Each step carries a pair
(value, marker). Values are U[−1, 1]. The length L is drawn from [T, T + T/10]. One of the first
ten pairs is marked (its value is X₁), then one of the first T/2 − 1 still unmarked pairs (X₂).
The first and last pairs carry the marker −1 unless marked; if the first pair is marked, X₁ is
set to 0. Only the end of the sequence has a target:

.. math::

    y = 0.5 + \frac{X_1 + X_2}{4}                                                      \tag{1}

    \text{correct} \iff |\hat y - y| < 0.04                                            \tag{2}

    \text{solved} \iff \text{the 2000 most recent sequences are correct and their
    mean squared error} < 0.01                                                         \tag{3}

(HS97 stop training on (3); every sequence correct already gives a mean squared error below
0.04² = 0.0016, so the second half of (3) never binds.)

Predicting the mean E[y] = 1/2 whatever the input scores Var(y). X₁ is drawn from the first
m = min(10, ⌊T/2⌋ − 1) pairs (10 for T ≥ 22), so with probability 1/m it sits on the first pair
and is 0; X₂ is never zeroed and is independent of X₁. With Var U[−1, 1] = 1/3:

.. math::

    \operatorname{MSE}_{\text{baseline}} = \operatorname{Var}(y)
    = \frac{\operatorname{Var} X_1 + \operatorname{Var} X_2}{16}
    = \frac{(1 - \frac1m)\frac13 + \frac13}{16} = \frac{2 - 1/m}{48}
    \overset{m = 10}{=} \frac{19}{480} \approx 0.0396                                  \tag{4}

(not 2/(3·16) = 1/24 ≈ 0.0417, which forgets that X₁ is 0 one time in m).

**Le, Jaitly & Hinton 2015 / Arjovsky, Shah & Bengio 2016** (``"adding-sum"``). L = T; values
U[0, 1]; one marker (1) uniformly in the first half, one in the second half, all other markers 0;
the target is the plain sum. Predicting the mean 1 whatever the input gives the baseline

.. math::

    \operatorname{MSE}_{\text{baseline}} = \operatorname{Var}(X_1 + X_2) = 2 \cdot \tfrac{1}{12}
    = 0.167,\qquad \text{solved} \iff \operatorname{MSE} \le 0.1 \cdot 0.167             \tag{5}

Arjovsky et al.'s criterion is "beats the baseline", read from their curves; we count it beaten at
a tenth of the baseline over the 2000 most recent sequences (``BEATS_BASELINE``), a margin that
noise at the baseline cannot reach (a bare "below 0.167" was crossed by chance at about step
100). For the accuracy curve only, a sequence counts as correct when |error| < 0.16: HS97's
tolerance (2) on their target scale 1/4.

The two placements differ in what a model must bridge: under HS97's both marks lie in the first
half, so every lag from a mark to the end is at least T/2; under Le/Arjovsky's the second mark is in
the second half, so its lag is uniform in 0 … T/2 − 1 and some are short. That, not the target's
scale, is what makes HS97's variant hard (issue 16: each placement with each scale, LSTM, T = 50).

Deviation from both papers: all sequences of one batch share one length L (drawn afresh for
every batch), so the fused kernels run without padding; over batches L has the papers'
distribution.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnngrad.tasks._task import BEATS_BASELINE, Batch, SequenceScores, Task, check_batch_size, random_length

HS97_TOLERANCE = 0.04  # (2)
HS97_MEAN_SQUARED_ERROR = 0.01  # (3)
SUM_BASELINE_MSE = 1.0 / 6.0  # (5), 0.167


def hs97_first_pairs(T: int) -> int:
    """m of eq. (4): how many of the first pairs X₁ is drawn from (10, fewer for T < 22)."""
    return min(10, T // 2 - 1)


def hs97_baseline_mse(T: int) -> float:
    """Eq. (4): the mean squared error of always answering E[y] = 1/2, (2 − 1/m)/48 (0.0396 for T ≥ 22)."""
    return (2.0 - 1.0 / hs97_first_pairs(AddingProblem.check_T(T))) / 48.0


class AddingProblem(Task):
    """HS97 experiment 4, eqs. (1)–(3).

    Worked example (T = 10, so L ∈ [10, 11]; X₁ among t = 0..3 (the first ten pairs, capped at
    T/2 − 1 = 4 for so short a T), X₂ among the first 4 pairs left unmarked, t = 0..4 without X₁'s):

    ======  =====  =====  =====  =====  =====  =====  =====  =====  =====  =====
    t       0      1      2      3      4      5      6      7      8      9
    value   0.31   −0.72  0.15   0.88   −0.40  0.66   0.02   −0.13  0.47   0.05
    marker  −1     1      0      1      0      0      0      0      0      −1
    ======  =====  =====  =====  =====  =====  =====  =====  =====  =====  =====

    X₁ = −0.72 (t = 1), X₂ = 0.88 (t = 3), so y = 0.5 + (−0.72 + 0.88)/4 = 0.54; an output
    of 0.57 is correct (|0.03| < 0.04), 0.59 is not.

    Shape:
        ``Batch.inputs`` (B, L, 2): value, marker. ``Batch.targets`` (B,). Outputs (B, 1).

    Examples:
        >>> task = AddingProblem(T=100)
        >>> batch = task.sample(4, torch.Generator().manual_seed(0))
        >>> batch.inputs.shape[0], 100 <= batch.inputs.shape[1] <= 110, batch.inputs.shape[2]
        (4, True, 2)
    """

    name = "adding"
    input_size = 2
    output_size = 1
    source = "Hochreiter & Schmidhuber 1997, exp. 4"
    criterion = "the 2000 most recent sequences have |error| < 0.04 (and MSE < 0.01)"
    min_T = 4  # T/2 − 1 ≥ 1 unmarked pair to choose X₂ from

    @property
    def max_length(self) -> int:
        return self.T + self.T // 10

    @property
    def baseline(self) -> float:
        """Eq. (4): the MSE of predicting the mean, 0.0396 for T ≥ 22."""
        return hs97_baseline_mse(self.T)

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        B = check_batch_size(batch_size)
        L = random_length(self.T, generator)
        early = self.T // 2 - 1  # X₂ is one of the first T/2 − 1 unmarked pairs
        values = torch.rand(B, L, generator=generator) * 2 - 1  # (B, L), U[−1, 1]
        first = torch.randint(0, hs97_first_pairs(self.T), (B, 1), generator=generator)  # (B, 1), m of (4)
        second = torch.randint(0, early, (B, 1), generator=generator)  # the k-th unmarked pair
        second = second + (second >= first).long()  # its position: skip the pair marked first
        values[:, :1] = torch.where(first == 0, 0.0, values[:, :1])  # X₁ = 0 if t = 0 is marked
        markers = torch.zeros(B, L)
        markers[:, 0] = -1.0
        markers[:, -1] = -1.0
        markers.scatter_(1, first, 1.0).scatter_(1, second, 1.0)
        x1, x2 = values.gather(1, first), values.gather(1, second)  # (B, 1) each
        targets = (0.5 + (x1 + x2) / 4.0).squeeze(1)  # (1), (B,)
        return Batch(torch.stack([values, markers], dim=2), targets)  # (B, L, 2)

    def score(self, outputs: Tensor, targets: Tensor) -> SequenceScores:
        error = outputs.reshape(-1) - targets  # (B,)
        return SequenceScores(error.square(), error.detach().abs() < HS97_TOLERANCE)  # (2)

    def solved(self, mean_loss: float, accuracy: float) -> bool:
        return accuracy >= 1.0 and mean_loss < HS97_MEAN_SQUARED_ERROR  # (3)


class AddingSumProblem(Task):
    """Le et al. 2015 / Arjovsky et al. 2016: target = X₁ + X₂, baseline MSE 0.167, eq. (5).

    Worked example (T = 6: one marker in t = 0..2, one in t = 3..5):

    ======  ====  ====  ====  ====  ====  ====
    t       0     1     2     3     4     5
    value   0.21  0.93  0.40  0.75  0.08  0.56
    marker  0     1     0     0     1     0
    ======  ====  ====  ====  ====  ====  ====

    The target is 0.93 + 0.08 = 1.01. Always answering 1.0 scores MSE 0.167 on average.

    Shape:
        ``Batch.inputs`` (B, T, 2): value, marker. ``Batch.targets`` (B,). Outputs (B, 1).

    Examples:
        >>> batch = AddingSumProblem(T=6).sample(3, torch.Generator().manual_seed(0))
        >>> batch.inputs.shape, batch.inputs[..., 1].sum(1).tolist()
        (torch.Size([3, 6, 2]), [2.0, 2.0, 2.0])
    """

    name = "adding-sum"
    input_size = 2
    output_size = 1
    source = "Le et al. 2015; Arjovsky et al. 2016"
    criterion = "MSE over the 2000 most recent sequences at most 0.1 × the baseline 0.167"
    baseline = SUM_BASELINE_MSE

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        B, half = check_batch_size(batch_size), self.T // 2
        values = torch.rand(B, self.T, generator=generator)  # (B, T), U[0, 1]
        first = torch.randint(0, half, (B, 1), generator=generator)  # first half
        second = torch.randint(half, self.T, (B, 1), generator=generator)  # second half
        markers = torch.zeros(B, self.T).scatter_(1, first, 1.0).scatter_(1, second, 1.0)
        targets = (values.gather(1, first) + values.gather(1, second)).squeeze(1)  # (B,)
        return Batch(torch.stack([values, markers], dim=2), targets)  # (B, T, 2)

    def score(self, outputs: Tensor, targets: Tensor) -> SequenceScores:
        error = outputs.reshape(-1) - targets  # (B,)
        return SequenceScores(error.square(), error.detach().abs() < 4 * HS97_TOLERANCE)

    def solved(self, mean_loss: float, accuracy: float) -> bool:
        return mean_loss <= BEATS_BASELINE * self.baseline  # (5)
