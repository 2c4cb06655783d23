r"""The weights the explorer page computes with: one RNN and one LSTM, written as ``weights.json``.

The page never trains anything: it takes these fixed weights and the reader's settings and
computes, in the browser, the norms of ∂s_T/∂s_t for every t. The meaning of each setting, which
the browser test checks against :func:`rnngrad.jacobian_through_time`:

- RNN (:class:`rnngrad.RNNCell`): W_hh = G · ``weight_hh`` with ‖``weight_hh``‖₂ = 1, so the
  gain slider G *is* ‖W_hh‖₂; W_ih = ``weight_ih``; b_ih = ``bias``, b_hh = 0; activation tanh,
  sigmoid or relu; inputs x_t = (input scale) · ``inputs[t-1]`` for t = 1..T.
- LSTM (:class:`rnngrad.LSTMCell`, gates i, f, g, o): W_ih, W_hh as written; b_ih = ``bias``
  with its forget slice raised by B, b_hh = 0; with chrono on, the i and f slices are first
  replaced by −``chrono_forget_bias`` and ``chrono_forget_bias`` (log U[1, T_max − 1], as
  :func:`rnngrad.init.chrono` draws them); inputs the first T rows of ``inputs``.

Weights are drawn as torch.nn initialises them (uniform ±1/√H), inputs from N(0, 1), all from
one seeded generator, in float64.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from rnngrad.errors import InputError, require_positive_int

FORMAT = "rnngrad.explore"
FORMAT_VERSION = 1


def explorer_weights(
    seed: int = 0, hidden_size: int = 32, input_size: int = 4, max_steps: int = 200
) -> dict[str, Any]:
    """The ``weights.json`` document of the explorer page (plain lists of floats, float64).

    Args:
        seed: seed of the one generator every weight and input is drawn from.
        hidden_size: H of both cells (the page is tuned for 16–32).
        input_size: I of both cells.
        max_steps: T_max, the rows of ``inputs`` (the page's T slider runs 1..T_max).

    Returns:
        ``{"format", "version", "seed", "hidden_size", "input_size", "max_steps",
        "rnn": {"weight_hh" (H, H) with ‖·‖₂ = 1, "weight_ih" (H, I), "bias" (H,), "inputs" (T_max, I)},
        "lstm": {"weight_ih" (4H, I), "weight_hh" (4H, H), "bias" (4H,), "chrono_forget_bias" (H,),
        "inputs" (T_max, I)}}``.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InputError(f"seed: expected an integer, got {seed!r}")
    H = require_positive_int("hidden_size", hidden_size)
    I = require_positive_int("input_size", input_size)
    T_max = require_positive_int("max_steps", max_steps)
    if T_max < 3:
        raise InputError(f"max_steps: expected at least 3 (chrono draws from U[1, T_max − 1]), got {T_max}")
    generator = torch.Generator().manual_seed(seed)

    def uniform(*shape: int) -> torch.Tensor:  # torch.nn's init: U(−1/√H, 1/√H)
        return (torch.rand(*shape, generator=generator, dtype=torch.float64) * 2 - 1) / math.sqrt(H)

    def normal(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    recurrent = normal(H, H)
    recurrent = recurrent / torch.linalg.matrix_norm(recurrent, ord=2)  # ‖W_hh‖₂ = 1: the gain is G
    rnn = {"weight_hh": recurrent, "weight_ih": uniform(H, I), "bias": uniform(H), "inputs": normal(T_max, I)}
    lstm = {"weight_ih": uniform(4 * H, I), "weight_hh": uniform(4 * H, H), "bias": uniform(4 * H),
            "chrono_forget_bias": torch.log(1 + torch.rand(H, generator=generator, dtype=torch.float64) * (T_max - 2)),
            "inputs": normal(T_max, I)}
    return {"format": FORMAT, "version": FORMAT_VERSION, "seed": seed, "hidden_size": H, "input_size": I,
            "max_steps": T_max,
            "rnn": {name: value.tolist() for name, value in rnn.items()},
            "lstm": {name: value.tolist() for name, value in lstm.items()}}
