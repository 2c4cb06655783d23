r"""LSTM gate-bias initialisers: a constant forget bias, and chrono initialisation.

torch's LSTM computes each gate pre-activation with two bias vectors, z = W_ih x + b_ih + W_hh h
+ b_hh, gates stacked i, f, g, o. The effective bias is the sum b = b_ih + b_hh, so

.. math::

    b_f = v:\qquad b_{ih}[f] \leftarrow v,\quad b_{hh}[f] \leftarrow 0                   \tag{1}

writes v once. (The widely copied snippet that fills both vectors with v gives b_f = 2v.)
Chrono initialisation (Tallec & Ollivier 2018) matches the forget gate to the time scales
1..T_max − 1 the data need, and opens the input gate as much as the forget gate holds on:

.. math::

    b_f \sim \log\,\mathcal U[1, T_{\max} - 1],\qquad b_i = -b_f                         \tag{2}

again written into ``bias_ih`` with the ``bias_hh`` entries zeroed. Both functions work in place on
``torch.nn.LSTM`` (every layer and direction), ``torch.nn.LSTMCell`` and
:class:`rnngrad.LSTMCell`, and return the module.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from rnngrad.cells import LSTMCell
from rnngrad.errors import InputError

_SUPPORTED = "torch.nn.LSTM, torch.nn.LSTMCell or rnngrad.LSTMCell"


def forget_bias(lstm: nn.Module, value: float) -> nn.Module:
    """Set the effective forget-gate bias b_f of every unit to ``value``, eq. (1).

    Args:
        lstm: a ``torch.nn.LSTM`` (any ``num_layers``, bidirectional, ``proj_size``),
            ``torch.nn.LSTMCell`` or :class:`rnngrad.LSTMCell`, with biases.
        value: the bias; σ(1) = 0.73 and σ(log 99) = 0.99 are common choices.

    Returns:
        ``lstm``, changed in place: ``bias_ih[H:2H] = value`` and ``bias_hh[H:2H] = 0``.

    Examples:
        >>> lstm = forget_bias(nn.LSTM(3, 4, num_layers=2), 1.0)
        >>> (lstm.bias_ih_l1[4:8] + lstm.bias_hh_l1[4:8]).tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"value: expected a finite number, got {value!r}")
    for bias_ih, bias_hh, H in _bias_pairs(lstm):
        with torch.no_grad():
            bias_ih[H : 2 * H] = value  # (1)
            bias_hh[H : 2 * H] = 0.0
    return lstm


def chrono(lstm: nn.Module, t_max: float, generator: torch.Generator | None = None) -> nn.Module:
    """Chrono initialisation, eq. (2): b_f ~ log U[1, t_max − 1] per unit, b_i = −b_f.

    Args:
        lstm: as for :func:`forget_bias`.
        t_max: the longest time scale the task needs (≥ 2), e.g. its longest sequence.
        generator: for the uniform draws (a fresh draw per layer and direction).

    Returns:
        ``lstm``, changed in place (i and f entries of ``bias_ih`` set, of ``bias_hh`` zeroed).

    Examples:
        >>> lstm = chrono(nn.LSTM(3, 4), t_max=100, generator=torch.Generator().manual_seed(0))
        >>> b_f = lstm.bias_ih_l0[4:8]
        >>> bool(((b_f >= 0) & (b_f <= math.log(99))).all()), bool((lstm.bias_ih_l0[:4] == -b_f).all())
        (True, True)
    """
    if isinstance(t_max, bool) or not isinstance(t_max, (int, float)) or not t_max >= 2 or math.isinf(t_max):
        raise InputError(f"t_max: expected a finite number ≥ 2, got {t_max!r}")
    for bias_ih, bias_hh, H in _bias_pairs(lstm):
        uniform = torch.rand(H, generator=generator, dtype=torch.float64)  # (H,), U[0, 1]
        b_f = torch.log1p(uniform * (t_max - 2))  # (2): log U[1, t_max − 1]
        with torch.no_grad():
            bias_ih[H : 2 * H] = b_f.to(bias_ih)
            bias_ih[:H] = -b_f.to(bias_ih)  # (2): b_i = −b_f
            bias_hh[: 2 * H] = 0.0
    return lstm


def _bias_pairs(lstm: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor, int]]:
    """(bias_ih, bias_hh, H) of every layer and direction, after checking the module."""
    if isinstance(lstm, nn.LSTM):
        if not lstm.bias:
            raise InputError("lstm: expected an LSTM with biases, got bias=False")
        suffixes = ["", "_reverse"][: 2 if lstm.bidirectional else 1]
        return [
            (getattr(lstm, f"bias_ih_l{layer}{suffix}"), getattr(lstm, f"bias_hh_l{layer}{suffix}"), lstm.hidden_size)
            for layer in range(lstm.num_layers)
            for suffix in suffixes
        ]
    if isinstance(lstm, (nn.LSTMCell, LSTMCell)):
        if lstm.bias_ih is None:
            raise InputError("lstm: expected an LSTM cell with biases, got bias=False")
        if isinstance(lstm, LSTMCell) and not lstm.forget_gate:
            raise InputError("lstm: expected an LSTM with a forget gate, got rnngrad.LSTMCell(forget_gate=False)")
        return [(lstm.bias_ih, lstm.bias_hh, lstm.hidden_size)]
    raise InputError(f"lstm: expected a {_SUPPORTED}, got {type(lstm).__name__}")
