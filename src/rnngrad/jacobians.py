r"""Jacobians through time, kept log-scaled so that 1e-2000 is a number, not a zero.

For a cell with flat state s_t (h for RNN/GRU, (h, c) for LSTM) and step Jacobians
J_k = ∂s_k/∂s_{k-1}, the chain rule gives, for every t = 0..T,

.. math::

    P_t = \frac{\partial s_T}{\partial s_t} = J_T\, J_{T-1} \cdots J_{t+1},
    \qquad P_T = I                                                                 \tag{1}

    P_t = P_{t+1}\, J_{t+1}                                                       \tag{2}

Recursion (2) runs backwards from t = T: one matrix product per step, O(T) products for all t
(not O(T²)). Each P_t is kept as a normalised matrix and the log of its scale,

.. math::

    P_t = e^{\ell_t}\, M_t,\qquad \|M_t\|_F = 1 \ (t < T),\qquad
    \ell_t = \ell_{t+1} + \log \|M_{t+1} J_{t+1}\|_F                                \tag{3}

so its norms come out in log space, never 0 and never inf (only an exactly zero Jacobian gives
log 0 = −inf), and float32 never meets denormal numbers. For the LSTM the seed's carousel
product is tracked beside it,

.. math::

    \log \prod_{k=t+1}^{T} f_{k,i} = \sum_{k=t+1}^{T} \log f_{k,i}                  \tag{4}

with log f computed as logsigmoid, so it cannot underflow either.

For a diagonal cell (minGRU, minLSTM, LRU: :class:`~rnngrad.cells.DiagonalCell`) every J_k is
diag(a_k), so (1) is diag(∏ a_k) and its norms are exact sums of log|a| in O(T·H), computed by
:mod:`rnngrad.diagonal_analysis` instead of (2)–(3).

Memory is O(B·S² + T·B·S): the states s_0..s_T are kept and the Jacobians are rebuilt on the
way back, a chunk of steps at a time, as operators that apply J without forming it where the
cell has structure (:meth:`~rnngrad.cells.RecurrentCell._step_jacobians`; for the RNN,
P_{t+1} J_{t+1} = (P_{t+1} ⊙ φ'(a_{t+1})ᵀ) W_hh). Each step multiplies by the previous
normalisation as it goes (for the RNN it is folded into φ'), so no extra pass over P is made.
Spectral norms are exact: from the whole spectrum where the product is far from low-rank, else
certified by :class:`rnngrad.linalg.SpectralNormTracker`.

When a step is small (B·S³ < 2^24 multiply-adds) and torch has two or more threads, all of it
runs on one intra-op thread, and the norms of the shorter half of the lags are certified on a
second Python thread while the products go on (torch releases the GIL inside its kernels).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from rnngrad._denormals import flushing_denormals
from rnngrad._json import finite_list
from rnngrad._norms_beside import NormsBesideProducts
from rnngrad.cells import DiagonalCell, LSTMCell, RecurrentCell
from rnngrad._threads import one_intra_op_thread
from rnngrad.errors import InputError, require_finite
from rnngrad.linalg import SpectralNormTracker

_LN10 = math.log(10.0)
_CHUNK_ELEMENTS = 1 << 21  # products in one chunk: ≤ 16 MiB in float64
_CHUNK_STEPS = 16  # steps a chunk at most, so that norms of one chunk overlap the next's products
_SMALL_STEP = 1 << 24  # multiply-adds of one step's product (B·S³) below which one thread is best


@dataclass(frozen=True)
class JacobianThroughTime:
    """The norms of ∂s_T/∂s_t for every t = 0..T (index t; entry T is the identity).

    Shapes are (B, T+1), or (T+1,) when the inputs came without a batch dimension.
    """

    arch: str  # "rnn", "lstm", "gru", or a diagonal cell's "mingru", "minlstm", "lru"
    T: int  # number of steps
    state_size: int  # S: H, or 2H for the LSTM's (h, c); H (complex for the LRU) for a diagonal cell
    log10_norm: torch.Tensor  # log10 ‖∂s_T/∂s_t‖₂ (spectral norm)
    log10_frobenius: torch.Tensor  # log10 ‖∂s_T/∂s_t‖_F
    log10_carousel: torch.Tensor | None  # LSTM: log10 max_i ∏_{k=t+1..T} f_{k,i}, eq. (4);
    # diagonal cells: log10 max_i |∏ a_{k,i}|, equal to log10_norm (the carousel is the whole Jacobian)
    log_scale: torch.Tensor | None = None  # ℓ_t of eq. (3), with keep_products
    normalized_products: torch.Tensor | None = None  # M_t, (T+1, B, S, S), with keep_products

    def product(self, t: int) -> torch.Tensor:
        """∂s_T/∂s_t = e^{ℓ_t} M_t as a plain matrix (B, S, S); it may underflow or overflow."""
        if self.normalized_products is None or self.log_scale is None:
            raise InputError("product: expected a result computed with keep_products=True")
        log_scale = self.log_scale if self.log_scale.dim() == 2 else self.log_scale.unsqueeze(0)
        return torch.exp(log_scale[:, t]).view(-1, 1, 1) * self.normalized_products[t]

    def to_json(self) -> dict:
        """The ``rnngrad jacobian --json`` object of one sequence: ``arch``, ``T``, ``hidden_size``,
        ``log10_norm`` (T+1 entries, entry t for ∂s_T/∂s_t, entry T is 0) and, for the LSTM and
        the diagonal cells, ``log10_norm_carousel``. An exactly zero Jacobian (log 0 = −inf, a
        dead ReLU layer) is null."""
        if self.log10_norm.dim() != 1:
            raise InputError(f"to_json: expected the result of one sequence, got a batch of {self.log10_norm.shape[0]}")
        data = {"arch": self.arch, "T": self.T,
                "hidden_size": self.state_size // 2 if self.arch == "lstm" else self.state_size,
                "log10_norm": finite_list(self.log10_norm)}
        if self.log10_carousel is not None:
            data["log10_norm_carousel"] = finite_list(self.log10_carousel)
        return data


def trajectory(cell: RecurrentCell, inputs: torch.Tensor, initial_state: torch.Tensor | None = None) -> torch.Tensor:
    """The flat states s_0..s_T, (T+1, B, S), for inputs (T, B, I) from s_0 (zeros by default)."""
    state = cell.initial_state_vector(inputs.shape[1], inputs) if initial_state is None else initial_state
    with torch.no_grad():
        return cell.run(inputs, state)


@torch.no_grad()
def jacobian_through_time(
    cell: RecurrentCell | DiagonalCell,
    inputs: torch.Tensor,
    initial_state: torch.Tensor | None = None,
    *,
    keep_products: bool = False,
) -> JacobianThroughTime:
    """Norms of ∂s_T/∂s_t for every t by the backward recursion (2), log-scaled as in (3).

    Args:
        cell: an :class:`~rnngrad.cells.RNNCell`, :class:`~rnngrad.cells.LSTMCell` or
            :class:`~rnngrad.cells.GRUCell`; computation runs in its dtype. Or a
            :class:`~rnngrad.cells.DiagonalCell` (minGRU, minLSTM, LRU): exact in O(T·H) by
            :func:`rnngrad.diagonal_analysis.diagonal_jacobian_through_time`.
        inputs: x_1..x_T, (T, B, I) or (T, I).
        initial_state: s_0 as a flat (B, S) tensor (for the LSTM, h and c concatenated);
            zeros by default. A diagonal cell's (B, H) is checked and ignored: its Jacobians do
            not depend on the state.
        keep_products: also keep every normalised product M_t and its log scale ℓ_t
            (memory O(T·B·S²); for tests and small cases).

    Returns:
        A :class:`JacobianThroughTime`; entry t of each norm is for ∂s_T/∂s_t, entry T is 0.
    """
    if not isinstance(cell, (RecurrentCell, DiagonalCell)):
        hint = (" (convert one layer first: rnngrad.from_torch(module, layer, direction); that layer reads "
                "the outputs of the layers below it)" if isinstance(cell, torch.nn.Module) else "")
        raise InputError(f"cell: expected an rnngrad cell (RNNCell, LSTMCell, GRUCell, MinGRUCell, MinLSTMCell "
                         f"or LRUCell), got {type(cell).__name__}{hint}")
    if isinstance(cell, DiagonalCell):
        from rnngrad.diagonal_analysis import diagonal_jacobian_through_time  # here: it imports this module

        return diagonal_jacobian_through_time(cell, inputs, initial_state, keep_products=keep_products)
    inputs, unbatched = checked_inputs(cell, inputs)
    T, B, _ = inputs.shape
    if initial_state is not None:
        if not isinstance(initial_state, torch.Tensor) or initial_state.is_complex():
            raise InputError(f"initial_state: expected a real tensor of shape {(B, cell.state_size)}, "
                             f"got {type(initial_state).__name__}"
                             + (f" of dtype {initial_state.dtype}" if isinstance(initial_state, torch.Tensor) else ""))
        if tuple(initial_state.shape) != (B, cell.state_size):
            raise InputError(
                f"initial_state: expected a flat state of shape {(B, cell.state_size)}, "
                f"got {tuple(initial_state.shape)}"
            )
        initial_state = require_finite("initial_state", initial_state).to(inputs.dtype)
    S = cell.state_size
    if torch.get_num_threads() == 1 or B * S**3 >= _SMALL_STEP:  # one thread, or steps big enough for all
        return _jacobian_through_time(cell, inputs, initial_state, unbatched, keep_products, False)
    with one_intra_op_thread():  # every op below is small; a second thread certifies norms
        return _jacobian_through_time(cell, inputs, initial_state, unbatched, keep_products, True)


def _jacobian_through_time(
    cell: RecurrentCell,
    inputs: torch.Tensor,
    initial_state: torch.Tensor | None,
    unbatched: bool,
    keep_products: bool,
    norms_beside: bool,
) -> JacobianThroughTime:
    """:func:`jacobian_through_time` on checked inputs (T, B, I); ``norms_beside``: certify the
    spectral norms on a second thread while the products run."""
    T, B, _ = inputs.shape
    states = trajectory(cell, inputs, initial_state)  # (T+1, B, S)
    S = cell.state_size
    is_lstm = isinstance(cell, LSTMCell)
    log_carousel_tail = inputs.new_zeros(B, cell.hidden_size, dtype=torch.float64)  # Σ_{k>end} log f_k

    log_scale = inputs.new_zeros(B, T + 1, dtype=torch.float64)  # ℓ_t, eq. (3)
    log_spectral = inputs.new_zeros(B, T + 1, dtype=torch.float64)  # log σ_1(M_t)
    log_carousel = inputs.new_zeros(B, T + 1, dtype=torch.float64) if is_lstm else None
    kept = inputs.new_empty(T + 1, B, S, S) if keep_products else None

    product = torch.eye(S, dtype=inputs.dtype, device=inputs.device).expand(B, S, S)  # P_T = I
    scale = None  # P_T is not normalised: ℓ_T = 0
    log_spectral[:, T] = torch.log(SpectralNormTracker(S).norms(product.unsqueeze(0))[0]).double()
    if kept is not None:
        kept[T] = product
    steps_per_chunk = max(1, min(_CHUNK_STEPS, _CHUNK_ELEMENTS // (B * S * S)))
    chunks = -(-T // steps_per_chunk)
    chunk_shape = (steps_per_chunk, B, S, S)
    # Denormals flushed: the normalised products keep the dominant directions near 1, so only
    # directions already below 1e-308 of them become 0, which changes no norm (and is ~7× faster).
    with flushing_denormals(), NormsBesideProducts(chunks, inputs.new_empty, chunk_shape, norms_beside) as norms:
        for end in range(T, 0, -steps_per_chunk):  # chunk of steps t = start..end-1, backwards
            start = max(0, end - steps_per_chunk)
            n = end - start
            x = inputs[start:end].flatten(0, 1)  # (n·B, I)
            s = states[start:end].flatten(0, 1)  # (n·B, S): s_t for t = start..end-1
            jacobians = cell._step_jacobians(x, s, n)  # J_{t+1}, never formed where structured
            # R_t = M_{t+1} J_{t+1}: the product before its normalisation, M_t = R_t / ‖R_t‖_F (3)
            buffer = norms.buffer()
            by_lag = buffer[:n]  # R_t for t = end-1 down to start, (n, B, S, S)
            scales = inputs.new_empty(n, B, 1, 1)  # ‖R_t‖_F
            for k in range(n):  # lag order: t = end-1-k; (2), log-scaled by step_jacobians (4)
                product, _, scale = jacobians.scaled_step(n - 1 - k, product, scale, out=by_lag[k], norm_out=scales[k])
            log_tail = torch.cat([log_scale[:, end : end + 1].T, torch.log(scales.view(n, B)).double()])
            log_scale[:, start:end] = log_tail.cumsum(0)[1:].flip(0).T  # (3), sequential sums
            if kept is not None:
                kept[start:end] = (by_lag / torch.where(scales > 0, scales, 1.0)).flip(0)
            norms.submit(start, end, buffer, scales)  # the buffer is not touched again
            if log_carousel is not None:
                log_forget = cell.log_forget_gate(x, s).double().view(n, B, -1)  # log f_{t+1}
                sums = log_forget.flip(0).cumsum(0).flip(0) + log_carousel_tail  # (4), (n, B, H)
                log_carousel_tail = sums[0]
                log_carousel[:, start:end] = sums.max(dim=2).values.T
        for start, end, sigma, frobenius in norms.results():  # σ_1(R_t), ‖R_t‖_F in lag order
            log_ratio = torch.log(sigma.double()) - torch.log(frobenius.view(sigma.shape).double())
            log_ratio = torch.where(frobenius.view(sigma.shape) > 0, log_ratio, 0.0)  # σ_1(M_t); ℓ_t = −inf
            log_spectral[:, start:end] = log_ratio.flip(0).T  # back in order of t

    log_frobenius = log_scale.clone()
    log_frobenius[:, T] = 0.5 * math.log(S)  # ‖I‖_F = √S; M_t is normalised for t < T only

    def finish(values: torch.Tensor) -> torch.Tensor:
        values = values / _LN10
        return values.squeeze(0) if unbatched else values

    return JacobianThroughTime(
        arch=cell.arch,
        T=T,
        state_size=S,
        log10_norm=finish(log_scale + log_spectral),
        log10_frobenius=finish(log_frobenius),
        log10_carousel=None if log_carousel is None else finish(log_carousel),
        log_scale=(log_scale.squeeze(0) if unbatched else log_scale) if keep_products else None,
        normalized_products=kept,
    )


def checked_inputs(cell: RecurrentCell | DiagonalCell, inputs: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``inputs`` as (T, B, I) in the cell's (real) dtype and whether they came unbatched (T, I).

    Rejects (with :class:`InputError`) anything but a real 2D/3D tensor with T ≥ 1 and the
    cell's input size, and non-finite inputs or weights.
    """
    if not isinstance(inputs, torch.Tensor):
        raise InputError(f"inputs: expected a tensor (T, B, I) or (T, I), got {type(inputs).__name__}")
    if inputs.dim() not in (2, 3):
        raise InputError(f"inputs: expected a 2D (T, I) or 3D (T, B, I) tensor, got {inputs.dim()}D")
    if inputs.is_complex():
        raise InputError(f"inputs: expected a real tensor, got a complex tensor of dtype {inputs.dtype}")
    if not inputs.is_floating_point():
        raise InputError(f"inputs: expected real floating-point values, got dtype {inputs.dtype}")
    if inputs.shape[0] == 0:
        raise InputError("inputs: expected at least one time step, got T = 0")
    if inputs.dim() == 3 and inputs.shape[1] == 0:
        raise InputError(f"inputs: expected at least one sequence, got B = 0 (shape {tuple(inputs.shape)})")
    if inputs.shape[-1] != cell.input_size:
        raise InputError(
            f"inputs: expected input size {cell.input_size} (the cell's), got {inputs.shape[-1]}"
        )
    require_finite("inputs", inputs)
    for name, parameter in cell.named_parameters():
        require_finite(f"weights ({name})", parameter.detach())
    unbatched = inputs.dim() == 2
    inputs = inputs.unsqueeze(1) if unbatched else inputs  # (T, B, I)
    dtype = cell.parameter_dtype if isinstance(cell, DiagonalCell) else cell.weight_hh.dtype
    return inputs.to(dtype), unbatched
