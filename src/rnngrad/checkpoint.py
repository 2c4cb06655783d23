"""Load a saved torch.nn.RNN/LSTM/GRU state_dict and an input sequence, safely.

Checkpoints are read with ``torch.load(..., weights_only=True)``: a pickle that would run code is
refused and nothing in it executes. The architecture is inferred from the keys and shapes:
``weight_hh_l0`` is (G·H, H) with G = 1 (RNN), 3 (GRU) or 4 (LSTM); ``weight_hr_l0`` marks an
LSTM with projections; ``_reverse`` keys a bidirectional module.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rnngrad.errors import InputError, require_finite

_KEY = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)_l(\d+)(_reverse)?$")
_ARCH_BY_GATES = {1: "rnn", 3: "gru", 4: "lstm"}
NONLINEARITIES = ("tanh", "relu")


def load_recurrent_checkpoint(path: str | Path, nonlinearity: str = "tanh") -> nn.RNNBase:
    """Rebuild the float64 ``torch.nn.RNN``, ``LSTM`` or ``GRU`` whose state_dict is at ``path``.

    Args:
        path: a file written by ``torch.save(module.state_dict(), path)``.
        nonlinearity: ``"tanh"`` or ``"relu"``, for an RNN (a state_dict does not record it).
    """
    if nonlinearity not in NONLINEARITIES:
        raise InputError(f"nonlinearity: expected one of {', '.join(NONLINEARITIES)}, got {nonlinearity!r}")
    state_dict = _load_tensor_file("checkpoint", path)
    if not isinstance(state_dict, dict) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
        raise InputError(
            "checkpoint: expected a state_dict (a dict of tensors) of torch.nn.RNN, LSTM or GRU, "
            f"got {type(state_dict).__name__}"
        )
    _check_keys(state_dict)
    weight_ih, weight_hh = state_dict["weight_ih_l0"], state_dict["weight_hh_l0"]
    if weight_ih.dim() != 2 or weight_hh.dim() != 2:
        raise InputError("checkpoint: expected 2D weight_ih_l0 and weight_hh_l0, got other shapes")
    proj_size = state_dict["weight_hr_l0"].shape[0] if "weight_hr_l0" in state_dict else 0
    hidden_size = state_dict["weight_hr_l0"].shape[1] if proj_size else weight_hh.shape[1]
    gates, remainder = divmod(weight_hh.shape[0], hidden_size)
    if remainder or gates not in _ARCH_BY_GATES or (proj_size and gates != 4):
        raise InputError(
            f"checkpoint: expected weight_hh_l0 of shape (G·H, H) with G = 1 (RNN), 3 (GRU) or "
            f"4 (LSTM), got {tuple(weight_hh.shape)}"
        )
    arch = _ARCH_BY_GATES[gates]
    layers = 1 + max(int(_KEY.match(key).group(2)) for key in state_dict)
    options = dict(
        input_size=weight_ih.shape[1],
        hidden_size=hidden_size,
        num_layers=layers,
        bias="bias_ih_l0" in state_dict,
        bidirectional=any(key.endswith("_reverse") for key in state_dict),
        dtype=torch.float64,
    )
    if arch == "rnn":
        module: nn.RNNBase = nn.RNN(nonlinearity=nonlinearity, **options)
    elif arch == "lstm":
        module = nn.LSTM(proj_size=proj_size, **options)
    else:
        module = nn.GRU(**options)
    try:
        module.load_state_dict({key: value.to(torch.float64) for key, value in state_dict.items()})
    except RuntimeError as error:
        first_line = str(error).strip().splitlines()[-1].strip()
        raise InputError(f"checkpoint: inconsistent {arch.upper()} state_dict: {first_line}") from None
    for name, parameter in module.named_parameters():
        require_finite(f"checkpoint ({name})", parameter.detach())
    return module.eval()


def load_checkpoint_and_inputs(
    checkpoint: str | Path, inputs: str | Path, nonlinearity: str = "tanh"
) -> tuple[nn.RNNBase, torch.Tensor]:
    """Both files of a ``--checkpoint FILE --inputs FILE`` command, checked against each other."""
    module = load_recurrent_checkpoint(checkpoint, nonlinearity)
    sequence = load_inputs(inputs)  # (T, I)
    if sequence.shape[1] != module.input_size:
        raise InputError(
            f"inputs: expected input size I = {module.input_size} (the checkpoint's), "
            f"got {sequence.shape[1]} (inputs of shape {tuple(sequence.shape)})"
        )
    return module, sequence


def load_inputs(path: str | Path) -> torch.Tensor:
    """Load an input sequence (T, I) from ``.npy`` (no pickles) or a ``torch.save``d tensor, as float64."""
    path = Path(path)
    if path.suffix == ".npy" and path.is_file():
        try:
            array = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as error:
            raise InputError(f"inputs: could not read {path} as a .npy array: {error}") from None
        inputs = torch.from_numpy(np.asarray(array, dtype=np.float64))
    else:
        inputs = _load_tensor_file("inputs", path)
        if not isinstance(inputs, torch.Tensor):
            raise InputError(f"inputs: expected a tensor of shape (T, I), got {type(inputs).__name__}")
        if not (inputs.is_floating_point() or inputs.dtype in (torch.int32, torch.int64)):
            raise InputError(f"inputs: expected a real-valued tensor, got dtype {inputs.dtype}")
    if inputs.dim() != 2:
        raise InputError(f"inputs: expected a 2D tensor of shape (T, I), got shape {tuple(inputs.shape)}")
    if inputs.shape[0] == 0:
        raise InputError("inputs: expected at least one time step, got T = 0")
    return require_finite("inputs", inputs.to(torch.float64))


def _load_tensor_file(argument: str, path: str | Path):
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{argument}: expected an existing file, got {str(path)!r} (not found)")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(
            f"{argument}: refused to load {str(path)!r}: it is not a plain tensor file "
            f"readable with weights_only=True ({reason})"
        ) from None


def _check_keys(state_dict: dict) -> None:
    unexpected = sorted(key for key in state_dict if not _KEY.match(key))
    if unexpected:
        hint = ""
        prefixes = {key.rsplit(".", 1)[0] for key in unexpected if "." in key and _KEY.match(key.rsplit(".", 1)[1])}
        if prefixes:
            hint = f" (the recurrent layer is nested under {sorted(prefixes)[0]!r}: save that submodule's state_dict)"
        raise InputError(
            "checkpoint: expected the state_dict of a torch.nn.RNN, LSTM or GRU (keys like "
            f"weight_ih_l0, weight_hh_l0), got unexpected key {unexpected[0]!r}{hint}"
        )
    for required in ("weight_ih_l0", "weight_hh_l0"):
        if required not in state_dict:
            raise InputError(f"checkpoint: expected key {required!r}, which is missing")
