r"""A recurrent core with a linear readout, and the loop over time for one-step cells.

.. math::

    h_1, \dots, h_T = \text{core}(x_1, \dots, x_T),\qquad
    \hat y = W_{\text{out}} h_T + b_{\text{out}}\ \ \text{(last step)}\quad\text{or}\quad
    \hat y_t = W_{\text{out}} h_t + b_{\text{out}}\ \ \text{(every step)}              \tag{1}

The core is a fused ``torch.nn.RNN``/``LSTM``/``GRU`` (``batch_first=True``) wherever torch has
one, an :class:`UnrolledRecurrence` around an rnngrad cell for the variants torch lacks, or an
rnngrad diagonal module (``MinGRU``, ``MinLSTM``, ``LRU``). Only the core's output sequence h_t is
read, never its final state: for the LRU that output is the real Re h_t, and its complex h_n stays
unused.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from rnngrad.cells import RecurrentCell


class UnrolledRecurrence(nn.Module):
    """Runs a one-step cell over time with torch.nn.RNN's batch-first call convention.

    Shape:
        inputs (B, T, I) -> (outputs (B, T, H), final state), the state as the cell returns it.

    Examples:
        >>> from rnngrad.cells import RNNCell
        >>> core = UnrolledRecurrence(RNNCell(2, 3, activation="sigmoid"))
        >>> core(torch.zeros(4, 5, 2))[0].shape
        torch.Size([4, 5, 3])
    """

    def __init__(self, cell: RecurrentCell) -> None:
        super().__init__()
        self.cell = cell
        self.hidden_size = cell.hidden_size

    def forward(self, inputs: Tensor) -> tuple[Tensor, object]:
        state = None
        outputs = []
        for x_t in inputs.unbind(1):  # T tensors (B, I)
            state = self.cell(x_t, state)
            outputs.append(state[0] if isinstance(state, tuple) else state)  # h_t (B, H)
        return torch.stack(outputs, dim=1), state  # (B, T, H)


class SequenceModel(nn.Module):
    """Eq. (1): a recurrent core read out by one linear layer, at the last step or at every step.

    Args:
        recurrent: a batch-first module returning ``(outputs (B, T, H), state)``.
        hidden_size: H, the size of the core's outputs.
        output_size: O.
        every_step: read out every h_t (B, T, O) instead of only h_T (B, O).

    Shape:
        inputs (B, T, I) -> (B, O) or (B, T, O).
    """

    def __init__(self, recurrent: nn.Module, hidden_size: int, output_size: int, every_step: bool) -> None:
        super().__init__()
        self.recurrent = recurrent
        self.readout = nn.Linear(hidden_size, output_size)
        self.every_step = every_step

    def forward(self, inputs: Tensor) -> Tensor:
        hidden = self.recurrent(inputs)[0]  # (B, T, H)
        if self.every_step:
            return self.readout(hidden)  # (1), (B, T, O)
        return self.readout(hidden[:, -1])  # (1), (B, O)
