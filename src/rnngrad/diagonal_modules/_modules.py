r"""Sequence modules of the diagonal cells, shaped as torch.nn.GRU: :class:`MinGRU`,
:class:`MinLSTM` (Feng et al. 2024) and :class:`LRU` (Orvieto et al. 2023), each a stack of
:mod:`rnngrad.diagonal_modules._stack` whose layers run on :func:`rnngrad.scan.linear_scan`."""

from __future__ import annotations

import math

import torch

from rnngrad.cells.lru import LRUCell
from rnngrad.cells.min_gru import MinGRUCell
from rnngrad.cells.min_lstm import MinLSTMCell
from rnngrad.diagonal_modules._stack import DiagonalStack


class MinGRU(DiagonalStack):
    r"""A multi-layer minGRU (Feng et al. 2024, "Were RNNs All We Needed?", sequential mode)
    over whole sequences, by one batched product and one scan per layer.

    Layer k reads x^{(0)}_t = x_t, or the h^{(k−1)}_t of the layer below, and computes

    .. math::

        z_t &= \sigma(W_z x_t + b_z),\qquad \tilde h_t = W_h x_t + b_h                  \tag{1}

        h_t &= (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t                           \tag{2}

    for all t at once: a_t = 1 − z_t and b_t = z_t ⊙ h̃_t from :class:`~rnngrad.cells.MinGRUCell`'s
    ``coefficients`` over (T, B, I), then (2) by :func:`~rnngrad.scan.linear_scan`.

    Args:
        input_size: I, the size of x_t.
        hidden_size: H, the size of h_t.
        num_layers: L, the number of stacked layers (default 1).
        batch_first: input and output as (B, T, ·) instead of (T, B, ·) (default False);
            h0 and h_n stay (L, B, H), as in torch.
        dtype, device, generator: for the parameters, drawn layer by layer as
            :class:`~rnngrad.cells.MinGRUCell` draws them (U(−1/√I_k, 1/√I_k)).

    Shape:
        - input: (T, B, I), (B, T, I) with ``batch_first``, or unbatched (T, I); real, of the
          parameters' dtype.
        - h0: (L, B, H), or (L, H) for an unbatched input, real; None (the default) for zeros.
        - output: (T, B, H), (B, T, H) with ``batch_first``, or (T, H): h_t of the last
          layer, t = 1..T.
        - h_n: (L, B, H), or (L, H): every layer's h_T, real.

    Attributes:
        weight_ih_l{k}: W_z and W_h of layer k stacked, (2H, I) for k = 0, else (2H, H).
        bias_ih_l{k}: b_z and b_h of layer k, (2H,).

    Examples:
        >>> gru = MinGRU(3, 4, num_layers=2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        >>> output, h_n = gru(torch.randn(10, 2, 3, dtype=torch.float64))
        >>> output.shape, h_n.shape
        (torch.Size([10, 2, 4]), torch.Size([2, 2, 4]))
        >>> gru.layer_cell(1).step_jacobian_diagonal(output[0]).shape
        torch.Size([2, 4])
    """

    cell_type = MinGRUCell


class MinLSTM(DiagonalStack):
    r"""A multi-layer minLSTM (Feng et al. 2024, "Were RNNs All We Needed?", sequential mode)
    over whole sequences, by one batched product and one scan per layer.

    Layer k reads x^{(0)}_t = x_t, or the h^{(k−1)}_t of the layer below, and computes

    .. math::

        f_t &= \sigma(W_f x_t + b_f),\qquad i_t = \sigma(W_i x_t + b_i),\qquad
            \tilde h_t = W_h x_t + b_h                                                   \tag{1}

        h_t &= \frac{f_t}{f_t + i_t} \odot h_{t-1} + \frac{i_t}{f_t + i_t} \odot \tilde h_t  \tag{2}

    for all t at once: a_t = f'_t and b_t = i'_t ⊙ h̃_t from :class:`~rnngrad.cells.MinLSTMCell`'s
    ``coefficients`` over (T, B, I), then (2) by :func:`~rnngrad.scan.linear_scan`.

    Args:
        input_size: I, the size of x_t.
        hidden_size: H, the size of h_t.
        num_layers: L, the number of stacked layers (default 1).
        batch_first: input and output as (B, T, ·) instead of (T, B, ·) (default False);
            h0 and h_n stay (L, B, H), as in torch.
        dtype, device, generator: for the parameters, drawn layer by layer as
            :class:`~rnngrad.cells.MinLSTMCell` draws them (U(−1/√I_k, 1/√I_k)).

    Shape:
        - input: (T, B, I), (B, T, I) with ``batch_first``, or unbatched (T, I); real, of the
          parameters' dtype.
        - h0: (L, B, H), or (L, H) for an unbatched input, real; None (the default) for zeros.
        - output: (T, B, H), (B, T, H) with ``batch_first``, or (T, H): h_t of the last
          layer, t = 1..T.
        - h_n: (L, B, H), or (L, H): every layer's h_T, real.

    Attributes:
        weight_ih_l{k}: W_f, W_i and W_h of layer k stacked, (3H, I) for k = 0, else (3H, H).
        bias_ih_l{k}: b_f, b_i and b_h of layer k, (3H,).

    Examples:
        >>> lstm = MinLSTM(3, 4, batch_first=True, dtype=torch.float64)
        >>> output, h_n = lstm(torch.randn(2, 10, 3, dtype=torch.float64))
        >>> output.shape, h_n.shape
        (torch.Size([2, 10, 4]), torch.Size([1, 2, 4]))
    """

    cell_type = MinLSTMCell


class LRU(DiagonalStack):
    r"""A multi-layer Linear Recurrent Unit (Orvieto et al. 2023, "Resurrecting Recurrent Neural
    Networks for Long Sequences") over whole sequences, by one batched product and one scan per
    layer.

    Layer k reads x^{(0)}_t = x_t, or the real output Re h^{(k−1)}_t of the layer below, and computes

    .. math::

        \lambda &= \exp(-\exp(\nu^{\log}) + i \exp(\theta^{\log})),\qquad
            \gamma = \exp(\gamma^{\log})                                                 \tag{1}

        h_t &= \lambda \odot h_{t-1} + \gamma \odot ((B^{re} + i B^{im}) x_t)            \tag{2}

        y_t &= \operatorname{Re} h_t                                                    \tag{3}

    for all t at once: a_t = λ and b_t = γ ⊙ (B x_t) from :class:`~rnngrad.cells.LRUCell`'s
    ``coefficients`` over (T, B, I), then (2) by :func:`~rnngrad.scan.linear_scan`.

    The output (3) deviates from the paper, whose layer reads out y_t = Re(C h_t) + D ⊙ x_t (and
    whose deep model puts normalisation, an MLP and a skip connection between LRU layers). Here
    each layer is the recurrence alone, as torch.nn.GRU is: its output is its own state, of size
    H, made real by Re, and ∂h_T/∂h_t of every layer is that of its cell. A readout (C, D) is a
    linear map outside the recurrence; put an ``nn.Linear`` on the output, or on
    ``torch.view_as_real(h)``, to get one. The state h_t, in h0 and h_n, stays complex.

    Args:
        input_size: I, the size of the real x_t.
        hidden_size: H, the size of the complex h_t.
        num_layers: L, the number of stacked layers (default 1).
        batch_first: input and output as (B, T, ·) instead of (T, B, ·) (default False);
            h0 and h_n stay (L, B, H), as in torch.
        r_min, r_max, max_phase: the ring and phases every layer's λ is drawn on (defaults 0, 1,
            2π), as for :class:`~rnngrad.cells.LRUCell`.
        dtype, device, generator: for the (real) parameters, drawn layer by layer as
            :class:`~rnngrad.cells.LRUCell` draws them.

    Shape:
        - input: (T, B, I), (B, T, I) with ``batch_first``, or unbatched (T, I); real, of the
          parameters' dtype.
        - h0: (L, B, H), or (L, H) for an unbatched input, complex
          (complex128 for float64 parameters); None (the default) for zeros.
        - output: (T, B, H), (B, T, H) with ``batch_first``, or (T, H): Re h_t of the last
          layer, t = 1..T.
        - h_n: (L, B, H), or (L, H): every layer's h_T, complex.

    Attributes:
        nu_log_l{k}, theta_log_l{k}, gamma_log_l{k}: ν^log, θ^log, γ^log of layer k, (H,) each.
        B_re_l{k}, B_im_l{k}: Re B and Im B of layer k, (H, I) for k = 0, else (H, H).

    Examples:
        >>> lru = LRU(3, 4, num_layers=2, r_min=0.9, r_max=0.999, dtype=torch.float64)
        >>> output, h_n = lru(torch.randn(10, 3, dtype=torch.float64))  # unbatched
        >>> output.shape, output.dtype, h_n.shape, h_n.dtype
        (torch.Size([10, 4]), torch.float64, torch.Size([2, 4]), torch.complex128)
    """

    cell_type = LRUCell

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        batch_first: bool = False,
        *,
        r_min: float = 0.0,
        r_max: float = 1.0,
        max_phase: float = 2 * math.pi,
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__(input_size, hidden_size, num_layers, batch_first, dtype=dtype, device=device,
                         generator=generator, r_min=r_min, r_max=r_max, max_phase=max_phase)

