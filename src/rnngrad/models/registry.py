r"""The models compared on the long-lag tasks, by name.

=============  ===================================================================================  =====
name           recurrent core                                                                       fused
=============  ===================================================================================  =====
rnn-tanh       h_t = tanh(W_ih x_t + W_hh h_{t−1} + b), torch's init                                yes
rnn-sigmoid    the same with σ (rnngrad.RNNCell(activation="sigmoid"), unrolled)                    no
irnn           ReLU RNN, W_hh = I, b = 0, W_ih ~ N(0, 0.001²) (Le et al. 2015)                      yes
lstm           torch.nn.LSTM, torch's init (so σ(b_f) ≈ 0.5)                                        yes
lstm-fb1       LSTM with forget bias b_f = 1, written once (:func:`rnngrad.init.forget_bias`)       yes
lstm-chrono    LSTM with chrono init, T_max = the task's longest sequence                           yes
lstm-nofg      the 1997 LSTM, no forget gate (rnngrad.LSTMCell(forget_gate=False))                  no
gru            torch.nn.GRU, torch's init                                                           yes
mingru         rnngrad.MinGRU, sequential mode, Linear init (Feng et al. 2024)                      yes
minlstm        rnngrad.MinLSTM, f' = f/(f+i), i' = i/(f+i), Linear init (Feng et al. 2024)          yes
lru            rnngrad.LRU, |λ| on the ring [0.9, 0.999], arg λ in [0, 2π] (Orvieto et al. 2023)    yes
=============  ===================================================================================  =====

"torch's init" is every parameter ~ U(−1/√H, 1/√H); we draw it from the caller's generator so a
seed fixes the model, and build the modules under :func:`torch.random.fork_rng`, so building a
model leaves torch's global random state as it was. "fused" means :mod:`rnngrad.profiler` takes
the core whole: a fused torch.nn RNN/LSTM/GRU, or an rnngrad diagonal module (one linear scan, no
Python loop over time); the unrolled cells it cannot take over.

The diagonal models are one layer (``num_layers=1``, ``batch_first=True``) of the rnngrad module,
its parameters drawn from the caller's generator, with these settings and sources:

- ``mingru``, ``minlstm``: Feng et al. 2024, "Were RNNs All We Needed?" (arXiv:2410.01201),
  Sec. 3 and App. A, Algorithms 1 and 3, the sequential mode: gates and candidate are
  Linear_{d_h}(x_t), so nn.Linear's U(−1/√I, 1/√I); the paper gives no other initialisation. Its
  log-space variant (App. B, h̃_t = g(·) > 0) is a device for a numerically stable parallel scan
  and is not used (see :mod:`rnngrad.cells.min_gru`).
- ``lru``: Orvieto et al. 2023, "Resurrecting Recurrent Neural Networks for Long Sequences"
  (arXiv:2303.06349, read at ar5iv.labs.arxiv.org/html/2303.06349): λ uniform on the ring
  r_min ≤ |λ| ≤ r_max (Lemma 2), γ normalisation (§3.4). App. C.3, Table 8 lists the rings tuned for
  the final LRU: sCIFAR [0.9, 0.999], ListOps [0, 0.99], Text [0.5, 0.9], Retrieval [0.5, 0.9],
  Pathfinder [0.9, 0.999], PathX [0.999, 0.9999]; its caption puts the phase in [0, π/10] for
  PathX (L = 16k) and in [0, 2π] for every other task, and §4 says the small phase "is only needed
  for extremely long sequences". We take [0.9, 0.999] and 2π, the setting of its two tasks of length
  1024 (sCIFAR, Pathfinder), the closest to our T (HS97's adding goes to 1000).
  Deviation: the paper's block reads out y_t = Re(C h_t) + D x_t and stacks six such layers with
  normalisation, a GLU and a skip; here one layer's Re h_t goes straight to the model's linear
  readout, a real C on Re h with no D (see :class:`rnngrad.LRU`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from rnngrad import init
from rnngrad.cells import LSTMCell, RNNCell
from rnngrad.diagonal_modules import LRU, MinGRU, MinLSTM
from rnngrad.errors import InputError, require_positive_int
from rnngrad.models.sequence_model import SequenceModel, UnrolledRecurrence

IRNN_INPUT_STD = 0.001  # Le et al. 2015: small Gaussian non-recurrent weights
LRU_R_MIN, LRU_R_MAX = 0.9, 0.999  # Orvieto et al. 2023, Table 8: sCIFAR's and Pathfinder's ring
LRU_MAX_PHASE = 2 * math.pi  # Orvieto et al. 2023, Table 8 caption: [0, 2π] for every task but PathX

Builder = Callable[[int, int, float, torch.Generator], nn.Module]


@dataclass(frozen=True)
class ModelSpec:
    """One named model: how to build its recurrent core."""

    name: str
    description: str
    fused: bool  # rnngrad.profiler takes the core whole (a fused torch.nn kernel or a diagonal scan)
    build: Builder  # (input_size, hidden_size, t_max, generator) -> batch-first core


def _uniform_(module: nn.Module, hidden_size: int, generator: torch.Generator) -> nn.Module:
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.uniform_(-bound, bound, generator=generator)
    return module


def _rnn_tanh(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.Module:
    return _uniform_(nn.RNN(I, H, batch_first=True), H, generator)


def _irnn(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.Module:
    rnn = nn.RNN(I, H, nonlinearity="relu", batch_first=True)
    with torch.no_grad():
        rnn.weight_ih_l0.normal_(0.0, IRNN_INPUT_STD, generator=generator)
        rnn.weight_hh_l0.copy_(torch.eye(H))
        rnn.bias_ih_l0.zero_()
        rnn.bias_hh_l0.zero_()
    return rnn


def _lstm(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.LSTM:
    return _uniform_(nn.LSTM(I, H, batch_first=True), H, generator)


def _lstm_forget_bias_1(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.Module:
    return init.forget_bias(_lstm(I, H, t_max, generator), 1.0)


def _lstm_chrono(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.Module:
    return init.chrono(_lstm(I, H, t_max, generator), max(2.0, t_max), generator)


def _gru(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.Module:
    return _uniform_(nn.GRU(I, H, batch_first=True), H, generator)


def _rnn_sigmoid(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.Module:
    return UnrolledRecurrence(RNNCell(I, H, activation="sigmoid", generator=generator))


def _lstm_no_forget_gate(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.Module:
    return UnrolledRecurrence(LSTMCell(I, H, forget_gate=False, generator=generator))


def _min_gru(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.Module:
    return MinGRU(I, H, batch_first=True, generator=generator)


def _min_lstm(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.Module:
    return MinLSTM(I, H, batch_first=True, generator=generator)


def _lru(I: int, H: int, t_max: float, generator: torch.Generator) -> nn.Module:
    # The core's output is Re h_t (B, T, H), real; its h_n is complex and SequenceModel never reads it.
    return LRU(I, H, batch_first=True, r_min=LRU_R_MIN, r_max=LRU_R_MAX, max_phase=LRU_MAX_PHASE,
               generator=generator)


_MODELS = {
    spec.name: spec
    for spec in (
        ModelSpec("rnn-tanh", "tanh RNN, torch's init", True, _rnn_tanh),
        ModelSpec("rnn-sigmoid", "sigmoid RNN (unrolled rnngrad.RNNCell)", False, _rnn_sigmoid),
        ModelSpec("irnn", "ReLU RNN, identity W_hh, zero biases (Le et al. 2015)", True, _irnn),
        ModelSpec("lstm", "LSTM, torch's init", True, _lstm),
        ModelSpec("lstm-fb1", "LSTM, forget bias 1", True, _lstm_forget_bias_1),
        ModelSpec("lstm-chrono", "LSTM, chrono init (Tallec & Ollivier 2018)", True, _lstm_chrono),
        ModelSpec("lstm-nofg", "1997 LSTM without forget gate (unrolled rnngrad.LSTMCell)", False,
                  _lstm_no_forget_gate),
        ModelSpec("gru", "GRU, torch's init", True, _gru),
        ModelSpec("mingru", "minGRU, sequential mode (Feng et al. 2024)", True, _min_gru),
        ModelSpec("minlstm", "minLSTM, sequential mode (Feng et al. 2024)", True, _min_lstm),
        ModelSpec("lru", "LRU, ring [0.9, 0.999], phase [0, 2π] (Orvieto et al. 2023)", True, _lru),
    )
}


def model_names() -> list[str]:
    """The registered model names, in a fixed order."""
    return list(_MODELS)


def model_spec(name: str) -> ModelSpec:
    """The :class:`ModelSpec` registered as ``name``, or :class:`InputError` listing the valid names."""
    if name not in _MODELS:
        raise InputError(f"model: expected one of {', '.join(_MODELS)}, got {name!r}")
    return _MODELS[name]


def build_model(
    name: str,
    input_size: int,
    hidden_size: int,
    output_size: int,
    every_step: bool = False,
    t_max: float = 2.0,
    generator: torch.Generator | None = None,
) -> SequenceModel:
    """The model ``name`` with a linear readout (:class:`SequenceModel`), drawn from ``generator``.

    Args:
        name: one of :func:`model_names`.
        input_size, hidden_size, output_size: I, H, O.
        every_step: read out every step (B, T, O) instead of the last (B, O).
        t_max: the task's longest sequence (used by ``lstm-chrono``).
        generator: fixes every parameter; None draws a fresh seed from torch's global generator.

    Examples:
        >>> model = build_model("lstm-fb1", 2, 8, 1, generator=torch.Generator().manual_seed(0))
        >>> model(torch.zeros(3, 10, 2)).shape
        torch.Size([3, 1])
    """
    spec = model_spec(name)
    I = require_positive_int("input_size", input_size)
    H = require_positive_int("hidden_size", hidden_size)
    O = require_positive_int("output_size", output_size)
    if generator is None:
        generator = torch.Generator().manual_seed(int(torch.randint(0, 2**62, ())))
    with torch.random.fork_rng(devices=[]):
        core = spec.build(I, H, float(t_max), generator)
        model = SequenceModel(core, H, O, every_step)
    _uniform_(model.readout, H, generator)
    return model
