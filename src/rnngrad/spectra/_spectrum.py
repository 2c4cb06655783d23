"""``spectrum``: Lyapunov exponents, singular values at lags and the measured decay rate of a model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from rnngrad._json import finite_list, finite_or_none
from rnngrad.cells import DiagonalCell
from rnngrad.diagonal_analysis import channel_means, log_abs_coefficients, log_abs_products
from rnngrad.errors import InputError, require_cell_position
from rnngrad.jacobians import checked_inputs, trajectory
from rnngrad.layer_inputs import cell_and_inputs
from rnngrad.spectra._measured_rate import measured_log_rate
from rnngrad.spectra.lags import check_lags, log_singular_values_at_lags
from rnngrad.spectra.lyapunov import (MAX_INTERVAL, LyapunovExponents, check_block_budget, check_k_and_warmup,
                                      lyapunov_exponents)


@dataclass(frozen=True)
class Spectrum:
    """What :func:`spectrum` found. Logs are natural; rates are per time step.

    Shapes are for batched inputs (T, B, I); unbatched inputs (T, I) drop the B dimension.
    """

    arch: str  # "rnn", "lstm", "gru", or a diagonal cell's "mingru", "minlstm", "lru"
    T: int  # time steps of the inputs
    state_size: int  # S: H, or 2H for the LSTM's (h, c); H (complex for the LRU) for a diagonal cell
    warmup: int  # N: steps left out of the averages
    exponents: torch.Tensor  # (B, k) float64 Lyapunov exponents, descending (lyapunov (2))
    lags: tuple[int, ...]  # the lags k asked for
    log_singular_values: torch.Tensor  # (L, B, S) float64 log σ_i(∂s_T/∂s_{T−k}), descending
    log_rate_measured: float | None  # profiler's growth rate of ‖dL/dh_t‖, nats per step (_measured_rate), or None
    factorizations: int  # QR factorisations the exponents took (0 for a diagonal cell)
    max_log_condition: float  # largest log condition of a block (lyapunov (5)); 0.0 for a diagonal cell

    @property
    def log_rate_predicted(self) -> float:
        """λ_1, the predicted growth rate of ‖∂s_T/∂s_t‖ per step (mean over the batch)."""
        return float(self.exponents[..., 0].mean())

    @property
    def sum_of_exponents(self) -> torch.Tensor:
        """Σ_i λ_i: with all S exponents, the mean of log|det J_t| (lyapunov (3)); (B,) or ()."""
        return self.exponents.sum(dim=-1)

    def to_json(self) -> dict:
        """The ``rnngrad spectrum --json`` object of one sequence: ``arch``, ``exponents`` (natural
        log per step, descending; −inf, an exactly singular Jacobian such as a dead ReLU unit, is
        null) and ``log_rate_measured`` (null where the profiler could not measure it)."""
        if self.exponents.dim() != 1:
            raise InputError(f"to_json: expected the spectrum of one sequence, got a batch of {self.exponents.shape[0]}")
        return {"arch": self.arch, "exponents": finite_list(self.exponents),
                "log_rate_measured": finite_or_none(self.log_rate_measured)}


def spectrum(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    k: int | None = None,
    warmup: int = 0,
    lags: Sequence[int] = (),
    layer: int = 0,
    direction: int = 0,
    measure: bool = True,
    max_log_condition: float | None = None,
    max_interval: int = MAX_INTERVAL,
) -> Spectrum:
    """The Lyapunov spectrum of a recurrent layer's state Jacobians on given inputs.

    Exponents λ_i by the QR method, :mod:`rnngrad.spectra.lyapunov` (1)–(2), from s_0 = 0 and
    Q_0 = I; singular values of ∂s_T/∂s_{T−k} by :mod:`rnngrad.spectra.lags` (1)–(3); the LSTM
    on its full state (h, c), S = 2H. For a :class:`~rnngrad.cells.DiagonalCell` (minGRU,
    minLSTM, LRU) both are exact and need no QR: the exponents are the sorted time means of
    log|a_t| and the singular values the sorted log|∏ a_k|, :mod:`rnngrad.diagonal_analysis`
    (4)–(5); S = H (for the LRU, of the complex H×H Jacobian).

    Args:
        model: an :class:`~rnngrad.cells.RNNCell`, :class:`~rnngrad.cells.LSTMCell`,
            :class:`~rnngrad.cells.GRUCell` or :class:`~rnngrad.cells.DiagonalCell`
            (``log_rate_measured`` None), or a ``torch.nn.RNN``/``LSTM``/``GRU`` (any layer
            and direction) or ``RNNCell``/``LSTMCell``/``GRUCell``. It is left as found;
            computation runs in its dtype.
        inputs: x_1..x_T, time-major (T, I) or (T, B, I) whatever ``batch_first`` is.
        k: how many exponents, 1..S (S = H, or 2H for the LSTM's (h, c)); None for all S.
        warmup: N, steps run before averaging starts (0: every step from s_0 = 0 counts).
        lags: lags k in 0..T at which to take all singular values of ∂s_T/∂s_{T−k}.
        layer, direction: which layer and direction of a torch.nn module.
        measure: also measure the rate with :func:`rnngrad.profiler.profile`, L = Σ_j h_T,j of
            the layer (torch.nn RNN/LSTM/GRU only; None otherwise): minus the profiler's decay
            rate, :func:`~rnngrad.spectra._measured_rate.measured_log_rate`.
        max_log_condition, max_interval: the re-orthonormalisation budget and the longest block
            (see :mod:`rnngrad.spectra.lyapunov`); ``max_interval=1`` is the plain QR method.
            Checked, and unused for a diagonal cell.

    Returns:
        A :class:`Spectrum`.

    Shape:
        inputs (T, I) -> exponents (k,), log_singular_values (L, S);
        inputs (T, B, I) -> exponents (B, k), log_singular_values (L, B, S).

    Examples:
        >>> rnn = torch.nn.RNN(3, 8, dtype=torch.float64)
        >>> result = spectrum(rnn, torch.randn(200, 3, dtype=torch.float64), k=4, lags=(1, 50))
        >>> result.exponents.shape, result.log_singular_values.shape
        (torch.Size([4]), torch.Size([2, 8]))
    """
    if isinstance(model, DiagonalCell):
        require_cell_position(layer, direction)
        cell = model
        layer_inputs, unbatched = checked_inputs(cell, inputs)  # (T, B, I)
    else:  # a torch module, a cell, or a diagonal module (MinGRU, MinLSTM, LRU): one layer's cell
        cell, layer_inputs, unbatched = cell_and_inputs(model, inputs, layer, direction)
    diagonal = isinstance(cell, DiagonalCell)
    S = cell.hidden_size if diagonal else cell.state_size
    k = S if k is None else k
    lags = tuple(lags)
    check_k_and_warmup(S, layer_inputs.shape[0], k, warmup)
    check_lags(lags, layer_inputs.shape[0])
    check_block_budget(max_log_condition, max_interval)

    if diagonal:
        found, singular = _diagonal_spectrum(cell, layer_inputs, k, warmup, lags)
        measured = measured_log_rate(model, inputs, layer, direction) if measure else None  # None for a cell
    else:
        states = trajectory(cell, layer_inputs)  # (T+1, B, S)
        found = lyapunov_exponents(
            cell, layer_inputs, k, warmup,
            max_log_condition=max_log_condition, max_interval=max_interval, states=states,
        )
        singular = log_singular_values_at_lags(cell, layer_inputs, states, lags)  # (L, B, S)
        measured = measured_log_rate(model, inputs, layer, direction) if measure else None

    return Spectrum(
        arch=cell.arch,
        T=layer_inputs.shape[0],
        state_size=S,
        warmup=warmup,
        exponents=found.exponents.squeeze(0) if unbatched else found.exponents,
        lags=lags,
        log_singular_values=singular.squeeze(1) if unbatched else singular,
        log_rate_measured=measured,
        factorizations=found.factorizations,
        max_log_condition=found.max_log_condition,
    )


@torch.no_grad()
def _diagonal_spectrum(
    cell: DiagonalCell, inputs: torch.Tensor, k: int, warmup: int, lags: tuple[int, ...]
) -> tuple[LyapunovExponents, torch.Tensor]:
    """The top k exponents (B, k) and log σ_i at ``lags`` (L, B, H) of a diagonal cell, exactly,
    by :mod:`rnngrad.diagonal_analysis` (4)–(5), from checked inputs (T, B, I)."""
    T = inputs.shape[0]
    log_abs = log_abs_coefficients(cell, inputs)  # (T, B, H)
    exponents = channel_means(log_abs, warmup).sort(dim=-1, descending=True).values[:, :k]  # (B, k), (5)
    tails = log_abs_products(log_abs)  # ℓ_t, (T+1, B, H)
    singular = tails[[T - lag for lag in lags]].sort(dim=-1, descending=True).values  # (L, B, H), (4)
    return LyapunovExponents(exponents, T - warmup, factorizations=0, max_log_condition=0.0), singular
