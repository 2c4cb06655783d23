"""Load a saved torch.nn.RNN/LSTM/GRU state_dict and an input sequence, safely.

Checkpoints are read with ``torch.load(..., weights_only=True)``: a pickle that would run code is
refused and nothing in it executes. The architecture is inferred from the keys and shapes:
``weight_hh_l0`` is (G·H, H) with G = 1 (RNN), 3 (GRU) or 4 (LSTM); ``weight_hr_l0`` marks an
LSTM with projections; ``_reverse`` keys a bidirectional module.

Before anything is allocated, every tensor is checked: real floating point (float16, bfloat16,
float32 or float64, converted to float64; complex, integer and bool tensors are refused), the
shape torch.nn expects for its key, layers numbered 0..L−1 with none missing, and all elements
together (inputs: T × I; and T times what the analyses keep per step) within
the element budget of :mod:`rnngrad._budget` (10⁸ by default; environment variable
``RNNGRAD_MAX_ELEMENTS`` raises it).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnngrad._budget import check_elements
from rnngrad._loading import check_real_float, load_tensor_file, open_npy
from rnngrad.checkpoint_diagonal import diagonal_module, is_diagonal
from rnngrad.diagonal_modules import DiagonalStack
from rnngrad.errors import InputError, require_finite

_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")
_ARCH_BY_GATES = {1: "rnn", 3: "gru", 4: "lstm"}
NONLINEARITIES = ("tanh", "relu")
# Memory an analysis keeps per step and layer beyond the gate rows, in elements (8 bytes each):
# measured, ``rnngrad profile`` of an RNN with H = 5 holds ~2.2 KB per step (autograd records).
STEP_OVERHEAD = 256


@dataclass(frozen=True)
class _Layout:
    """What a state_dict's layer 0 says the module is."""

    arch: str
    gates: int  # G
    input_size: int  # I
    hidden_size: int  # H
    proj_size: int  # P (0: none)
    num_layers: int  # L
    bidirectional: bool
    bias: bool

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        """Every key torch.nn's module of this layout has, with its shape."""
        rows, recurrent = self.gates * self.hidden_size, self.proj_size or self.hidden_size
        directions = 2 if self.bidirectional else 1
        shapes = {}
        for layer in range(self.num_layers):
            for suffix in ("", "_reverse")[:directions]:
                end = f"_l{layer}{suffix}"
                shapes["weight_ih" + end] = (rows, self.input_size if layer == 0 else directions * recurrent)
                shapes["weight_hh" + end] = (rows, recurrent)
                if self.bias:
                    shapes["bias_ih" + end] = shapes["bias_hh" + end] = (rows,)
                if self.proj_size:
                    shapes["weight_hr" + end] = (self.proj_size, self.hidden_size)
        return shapes


def load_recurrent_checkpoint(path: str | Path, nonlinearity: str = "tanh", arch: str | None = None) -> nn.Module:
    """Rebuild the float64 ``torch.nn.RNN``, ``LSTM`` or ``GRU`` (or rnngrad ``MinGRU``,
    ``MinLSTM`` or ``LRU``, :mod:`rnngrad.checkpoint_diagonal`) whose state_dict is at ``path``.

    Args:
        path: a file written by ``torch.save(module.state_dict(), path)``.
        nonlinearity: ``"tanh"`` or ``"relu"``, for an RNN (a state_dict does not record it).
        arch: for a diagonal module, ``"mingru"``, ``"minlstm"`` or ``"lru"``; None infers it
            (a one-layer MinGRU and MinLSTM can share a shape: then it must be given).

    Raises:
        InputError: the file is not such a state_dict (refused pickles, other keys, shapes that
            do not fit together, tensors that are not real floating point, non-finite weights),
            or its elements exceed the budget ``RNNGRAD_MAX_ELEMENTS``.
    """
    if nonlinearity not in NONLINEARITIES:
        raise InputError(f"nonlinearity: expected one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}")
    state_dict = load_tensor_file("checkpoint", Path(path))
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise InputError(
            "checkpoint: expected a state_dict (a dict of tensors) of torch.nn.RNN, LSTM or GRU, "
            f"got {type(state_dict).__name__}"
        )
    diagonal = is_diagonal(state_dict)
    if not diagonal:
        _check_keys(state_dict)
    for key, tensor in state_dict.items():
        check_real_float(f"checkpoint ({key})", tensor)
    largest = max(state_dict, key=lambda key: state_dict[key].numel())
    check_elements("checkpoint", sum(tensor.numel() for tensor in state_dict.values()),
                   f"all tensors together; {largest} has shape {tuple(state_dict[largest].shape)}")
    if diagonal:
        module = diagonal_module(state_dict, arch)
        for name, parameter in module.named_parameters():
            require_finite(f"checkpoint ({name})", parameter.detach())
        return module
    if arch is not None:
        raise InputError(f"arch: expected none for a torch.nn RNN, LSTM or GRU checkpoint (it has weight_hh_l0), "
                         f"got {arch!r}")
    layout = _layout(state_dict)
    _check_shapes(state_dict, layout)
    options = dict(input_size=layout.input_size, hidden_size=layout.hidden_size, num_layers=layout.num_layers,
                   bias=layout.bias, bidirectional=layout.bidirectional, dtype=torch.float64)
    if layout.arch == "rnn":
        module: nn.RNNBase = nn.RNN(nonlinearity=nonlinearity, **options)
    elif layout.arch == "lstm":
        module = nn.LSTM(proj_size=layout.proj_size, **options)
    else:
        module = nn.GRU(**options)
    module.load_state_dict({key: value.to(torch.float64) for key, value in state_dict.items()})
    for name, parameter in module.named_parameters():
        require_finite(f"checkpoint ({name})", parameter.detach())
    return module.eval()


def load_checkpoint_and_inputs(
    checkpoint: str | Path, inputs: str | Path, nonlinearity: str = "tanh", arch: str | None = None
) -> tuple[nn.Module, torch.Tensor]:
    """Both files of a ``--checkpoint FILE --inputs FILE`` command, checked against each other.

    Besides each file's own checks, the work on them is bounded: T times what the analyses keep
    per step (the gate rows of every layer and direction, plus :data:`STEP_OVERHEAD`) must fit
    the element budget, so that a long sequence is refused up front rather than filling memory
    for minutes (with the default budget and H = 5, T up to ~380,000).
    """
    module = load_recurrent_checkpoint(checkpoint, nonlinearity, arch)
    sequence = load_inputs(inputs)  # (T, I)
    if sequence.shape[1] != module.input_size:
        raise InputError(
            f"inputs: expected input size I = {module.input_size} (the checkpoint's), "
            f"got {sequence.shape[1]} (inputs of shape {tuple(sequence.shape)})"
        )
    if isinstance(module, DiagonalStack):  # a, b and the state per channel (complex: twice)
        gates = 6
    else:
        gates = {"RNN_TANH": 1, "RNN_RELU": 1, "GRU": 3, "LSTM": 4}[module.mode]
    layers = module.num_layers * (2 if getattr(module, "bidirectional", False) else 1)
    per_step = layers * (gates * module.hidden_size + STEP_OVERHEAD)
    check_elements("inputs", sequence.shape[0] * per_step,
                   f"T = {sequence.shape[0]:,} steps × {per_step:,} elements kept per step: "
                   f"{gates * module.hidden_size:,} gate rows + {STEP_OVERHEAD} of bookkeeping, "
                   f"for each of {layers} layer(s) and direction(s)")
    return module, sequence


def load_inputs(path: str | Path) -> torch.Tensor:
    """Load an input sequence (T, I) from ``.npy`` (no pickles) or a ``torch.save``d tensor, as float64.

    The values must be real floating point (float16/32/64, converted to float64) and T·I within
    the element budget ``RNNGRAD_MAX_ELEMENTS``; both are checked before the data is read.
    """
    path = Path(path)
    if path.suffix == ".npy" and not path.is_dir():
        array = open_npy("inputs", path)  # memory-mapped: checked before anything is copied
        shape = tuple(array.shape)
    else:
        loaded = load_tensor_file("inputs", path)
        if not isinstance(loaded, torch.Tensor):
            raise InputError(f"inputs: expected a tensor of shape (T, I), got {type(loaded).__name__}")
        shape = tuple(loaded.shape)
    if len(shape) != 2:
        raise InputError(f"inputs: expected a 2D tensor of shape (T, I), got shape {shape}")
    if shape[0] == 0:
        raise InputError("inputs: expected at least one time step, got T = 0")
    if shape[1] == 0:
        raise InputError(f"inputs: expected at least one input feature, got I = 0 (shape {shape})")
    check_elements("inputs", math.prod(shape), f"shape {shape}")
    if path.suffix == ".npy" and not path.is_dir():
        inputs = torch.from_numpy(np.array(array, dtype=np.float64))
    else:
        inputs = check_real_float("inputs", loaded).to(torch.float64)
    return require_finite("inputs", inputs)


def _check_keys(state_dict: dict) -> None:
    unexpected = sorted((key for key in state_dict if not (isinstance(key, str) and _KEY.match(key))), key=repr)
    if unexpected:
        hint = ""
        prefixes = {key.rsplit(".", 1)[0] for key in unexpected
                    if isinstance(key, str) and "." in key and _KEY.match(key.rsplit(".", 1)[1])}
        if prefixes:
            hint = f" (the recurrent layer is nested under {sorted(prefixes)[0]!r}: save that submodule's state_dict)"
        raise InputError(
            "checkpoint: expected the state_dict of a torch.nn.RNN, LSTM or GRU (keys like "
            f"weight_ih_l0, weight_hh_l0), got unexpected key {_short(unexpected[0])}{hint}"
        )
    for required in ("weight_ih_l0", "weight_hh_l0"):
        if required not in state_dict:
            raise InputError(f"checkpoint: expected key {required!r}, which is missing")
    layers = sorted({int(_KEY.match(key).group(2)) for key in state_dict})
    missing = next((index for index, layer in enumerate(layers) if index != layer), None)
    if missing is not None:
        shown = ", ".join(map(str, layers[:4])) + (f", … ({len(layers)} layers in all)" if len(layers) > 4 else "")
        raise InputError(f"checkpoint: expected layers numbered 0..L−1 with none missing, got keys of layers "
                         f"{shown} (no layer {missing})")


def _layout(state_dict: dict[str, torch.Tensor]) -> _Layout:
    """The module that layer 0's shapes describe (the other layers are checked against it)."""
    weight_ih, weight_hh = state_dict["weight_ih_l0"], state_dict["weight_hh_l0"]
    projection = state_dict.get("weight_hr_l0")
    for name, tensor in (("weight_ih_l0", weight_ih), ("weight_hh_l0", weight_hh), ("weight_hr_l0", projection)):
        if tensor is not None and tensor.dim() != 2:
            raise InputError(f"checkpoint: expected a 2D {name}, got shape {tuple(tensor.shape)}")
    proj_size = projection.shape[0] if projection is not None else 0
    hidden_size = projection.shape[1] if projection is not None else weight_hh.shape[1]
    gates, remainder = divmod(weight_hh.shape[0], hidden_size)
    if remainder or gates not in _ARCH_BY_GATES or (proj_size and gates != 4):
        raise InputError(
            f"checkpoint: expected weight_hh_l0 of shape (G·H, H) with G = 1 (RNN), 3 (GRU) or "
            f"4 (LSTM), got {tuple(weight_hh.shape)}"
        )
    return _Layout(
        arch=_ARCH_BY_GATES[gates], gates=gates, input_size=weight_ih.shape[1], hidden_size=hidden_size,
        proj_size=proj_size, num_layers=1 + max(int(_KEY.match(key).group(2)) for key in state_dict),
        bidirectional=any(key.endswith("_reverse") for key in state_dict), bias="bias_ih_l0" in state_dict,
    )


def _check_shapes(state_dict: dict[str, torch.Tensor], layout: _Layout) -> None:
    expected = layout.expected_shapes()
    arch = f"{layout.arch.upper()} (I = {layout.input_size}, H = {layout.hidden_size})"
    for key in state_dict:
        if key not in expected:
            raise InputError(f"checkpoint: unexpected key {key!r} for the {arch} that layer 0 describes")
    for key, shape in expected.items():
        if key not in state_dict:
            raise InputError(f"checkpoint: expected key {key!r} of the {arch} that layer 0 describes, which is missing")
        if tuple(state_dict[key].shape) != shape:
            raise InputError(f"checkpoint: expected {key} of shape {shape} for the {arch} that layer 0 describes, "
                             f"got {tuple(state_dict[key].shape)}")


def _short(key: object) -> str:
    text = repr(key)
    return text if len(text) <= 80 else text[:77] + "..."
