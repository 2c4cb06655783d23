r"""Sequential digits: scikit-learn's bundled 8×8 handwritten digits read one pixel at a time.

The small cousin of pixel-by-pixel MNIST (Le et al. 2015; T = 784, LSTM 98.2 % and permuted
88 % in Arjovsky et al. 2016): 1797 images, pixel values 0..16 scaled to [0, 1], read in
scanline order, so T = 64 and I = 1; the class is read out after the last pixel.

.. math::

    x_t = \text{pixel}_{\pi(t)} / 16,\qquad t = 0..63                                   \tag{1}

    \text{solved} \iff \text{accuracy on the held-out split} \ge 0.9                    \tag{2}

π is the identity (``"digits"``) or one fixed random permutation (``"digits-permuted"``), which
spreads neighbouring pixels across the whole sequence. The split (359 test images, 20 %) and π
are fixed by constant seeds, the same for every run. The papers report accuracy, not a success
criterion; (2) is ours.

Needs scikit-learn (the optional extra ``rnngrad[tasks]``); the data ship inside it, so nothing
is downloaded.
"""

from __future__ import annotations

import torch
from torch import Tensor

from rnngrad.errors import InputError
from rnngrad.tasks._task import Batch, SequenceScores, Task, check_batch_size

PIXELS = 64  # T
TEST_FRACTION = 0.2
SPLIT_SEED = 0  # fixes which images are held out
PERMUTATION_SEED = 1  # fixes π of the permuted variant
SOLVED_ACCURACY = 0.9  # (2)


def load_digits_tensors() -> tuple[Tensor, Tensor]:
    """All 1797 images as (N, 64) float32 in [0, 1] and their labels (N,) int64."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise InputError(
            "task: expected scikit-learn for the digits tasks (pip install 'rnngrad[tasks]'), "
            f"got ImportError: {error}"
        ) from None
    digits = load_digits()
    images = torch.as_tensor(digits.data, dtype=torch.float32) / 16.0  # (N, 64)
    return images, torch.as_tensor(digits.target, dtype=torch.long)


class SequentialDigits(Task):
    """Classify an 8×8 digit from its 64 pixels in scanline order, eqs. (1)–(2).

    Worked example: a "1" is mostly a vertical bar in columns 3–4, so its sequence is near 0
    except at t ≡ 3, 4 (mod 8); the model must still hold what it saw at t = 3 when it answers
    after t = 63, a lag of 60 steps.

    Shape:
        ``Batch.inputs`` (B, 64, 1). ``Batch.targets`` (B,) int64 in 0..9. Outputs (B, 10).

    Examples:
        >>> task = SequentialDigits(T=64)
        >>> task.sample(5, torch.Generator().manual_seed(0)).inputs.shape
        torch.Size([5, 64, 1])
    """

    name = "digits"
    input_size = 1
    output_size = 10
    source = "scikit-learn digits, read as in Le et al. 2015"
    criterion = "accuracy ≥ 0.9 on the 359 held-out images"
    permuted = False

    def __init__(self, T: int = PIXELS) -> None:
        super().__init__(T)
        images, labels = load_digits_tensors()
        if self.permuted:
            order = torch.randperm(PIXELS, generator=torch.Generator().manual_seed(PERMUTATION_SEED))
            images = images[:, order]  # (1): π
        split = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SPLIT_SEED))
        test_size = round(TEST_FRACTION * len(labels))
        test, train = split[:test_size], split[test_size:]
        self._train = (images[train].unsqueeze(-1), labels[train])  # (N_train, 64, 1)
        self._test = Batch(images[test].unsqueeze(-1), labels[test])  # (N_test, 64, 1)

    @classmethod
    def check_T(cls, T: int) -> int:
        if isinstance(T, bool) or T != PIXELS:
            raise InputError(f"T: expected {PIXELS} for task {cls.name!r} (8×8 pixels), got {T!r}")
        return T

    @property
    def window(self) -> int:
        return 0  # judged on the held-out split

    def sample(self, batch_size: int, generator: torch.Generator) -> Batch:
        images, labels = self._train
        index = torch.randint(0, len(labels), (check_batch_size(batch_size),), generator=generator)
        return Batch(images[index], labels[index])

    def score(self, outputs: Tensor, targets: Tensor) -> SequenceScores:
        loss = torch.nn.functional.cross_entropy(outputs, targets, reduction="none")  # (B,)
        return SequenceScores(loss, outputs.detach().argmax(-1) == targets)

    def solved(self, mean_loss: float, accuracy: float) -> bool:
        return accuracy >= SOLVED_ACCURACY  # (2)

    def held_out(self) -> Batch:
        return self._test


class PermutedSequentialDigits(SequentialDigits):
    """:class:`SequentialDigits` with the pixels in one fixed random order π, eq. (1).

    Examples:
        >>> PermutedSequentialDigits().held_out().inputs.shape
        torch.Size([359, 64, 1])
    """

    name = "digits-permuted"
    source = "scikit-learn digits, permuted as in Arjovsky et al. 2016"
    permuted = True
