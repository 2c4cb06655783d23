"""Rebuild a saved rnngrad ``MinGRU``, ``MinLSTM`` or ``LRU`` from its state_dict.

The keys say which: ``nu_log_l0`` (with ``theta_log``, ``gamma_log``, ``B_re``, ``B_im`` per
layer) is an LRU; ``weight_ih_l0`` and ``bias_ih_l0`` without ``weight_hh_l0`` a MinGRU
(``weight_ih`` of 2H rows: [z; h̃]) or a MinLSTM (3H rows: [f; i; h̃]). With more than one layer,
``weight_ih_l1`` (G·H, H) gives H and so G; a one-layer checkpoint whose row count is a multiple
of both 2 and 3 needs ``arch`` to say which. The caller (:mod:`rnngrad.checkpoint`) has already
checked the file, the tensors' dtypes and the element budget.
"""

from __future__ import annotations

import re

import torch

from rnngrad.diagonal_modules import LRU, DiagonalStack, MinGRU, MinLSTM
from rnngrad.errors import InputError

DIAGONAL_ARCHS = ("mingru", "minlstm", "lru")
_MODULES = {"mingru": MinGRU, "minlstm": MinLSTM, "lru": LRU}
_GATES = {2: "mingru", 3: "minlstm"}
_KEY = re.compile(r"^(weight_ih|bias_ih|nu_log|theta_log|gamma_log|B_re|B_im)_l(\d+)$")


def is_diagonal(state_dict: dict) -> bool:
    """True for the keys of a MinGRU, MinLSTM or LRU (no recurrent weight matrix)."""
    return "weight_hh_l0" not in state_dict and ("nu_log_l0" in state_dict or "weight_ih_l0" in state_dict)


def diagonal_module(state_dict: dict[str, torch.Tensor], arch: str | None) -> DiagonalStack:
    """The float64 module of ``state_dict``, its weights loaded; ``arch`` one of
    :data:`DIAGONAL_ARCHS` or None (inferred from the keys and shapes)."""
    unexpected = sorted(key for key in state_dict if not _KEY.match(key))
    if unexpected:
        raise InputError(f"checkpoint: expected the keys of an rnngrad MinGRU, MinLSTM or LRU (weight_ih_l0, "
                         f"bias_ih_l0; or nu_log_l0, theta_log_l0, gamma_log_l0, B_re_l0, B_im_l0), got "
                         f"unexpected key {unexpected[0]!r}")
    layers = 1 + max(int(_KEY.match(key).group(2)) for key in state_dict)
    found, input_size, hidden_size = _layout(state_dict, layers, arch)
    module = _MODULES[found](input_size, hidden_size, num_layers=layers, dtype=torch.float64)
    expected = {key: tuple(value.shape) for key, value in module.state_dict().items()}
    described = f"{found} (I = {input_size}, H = {hidden_size}, {layers} layer{'s' * (layers > 1)})"
    for key in sorted(set(expected) | set(state_dict)):
        if key not in state_dict:
            raise InputError(f"checkpoint: expected key {key!r} of the {described} that layer 0 describes, "
                             "which is missing")
        if key not in expected:
            raise InputError(f"checkpoint: unexpected key {key!r} for the {described} that layer 0 describes")
        if tuple(state_dict[key].shape) != expected[key]:
            raise InputError(f"checkpoint: expected {key} of shape {expected[key]} for the {described} that "
                             f"layer 0 describes, got {tuple(state_dict[key].shape)}")
    module.load_state_dict({key: value.to(torch.float64) for key, value in state_dict.items()})
    return module.eval()


def _layout(state_dict: dict[str, torch.Tensor], layers: int, arch: str | None) -> tuple[str, int, int]:
    """(arch, I, H) from layer 0 (and layer 1's input width for the gated ones)."""
    if arch is not None and arch not in DIAGONAL_ARCHS:
        raise InputError(f"arch: expected one of {', '.join(DIAGONAL_ARCHS)} for this checkpoint "
                         f"(it has no weight_hh_l0), got {arch!r}")
    if "nu_log_l0" in state_dict:
        if arch not in (None, "lru"):
            raise InputError(f"arch: expected lru (the checkpoint has nu_log_l0), got {arch!r}")
        b_re = _matrix(state_dict, "B_re_l0")
        return "lru", b_re.shape[1], b_re.shape[0]
    weight = _matrix(state_dict, "weight_ih_l0")
    rows, input_size = weight.shape
    if layers > 1:
        hidden_size = _matrix(state_dict, "weight_ih_l1").shape[1]
        gates, remainder = divmod(rows, hidden_size)
        if remainder or gates not in _GATES:
            raise InputError(f"checkpoint: expected weight_ih_l0 of 2H rows (MinGRU) or 3H rows (MinLSTM) with "
                             f"H = {hidden_size} (weight_ih_l1's columns), got {tuple(weight.shape)}")
        found = _GATES[gates]
        if arch not in (None, found):
            raise InputError(f"arch: expected {found} (weight_ih_l0 has {gates}·H rows), got {arch!r}")
        return found, input_size, hidden_size
    fits = {name: rows // gates for gates, name in _GATES.items() if rows % gates == 0}  # arch → H
    if not fits:
        raise InputError("checkpoint: expected weight_ih_l0 of 2H rows (MinGRU) or 3H rows (MinLSTM), "
                         f"got shape {tuple(weight.shape)}")
    if arch is None:
        if len(fits) > 1:
            raise InputError(f"arch: weight_ih_l0 of shape {tuple(weight.shape)} fits a MinGRU with H = "
                             f"{fits['mingru']} and a MinLSTM with H = {fits['minlstm']}; expected --arch "
                             "mingru or --arch minlstm to say which, got neither")
        arch = next(iter(fits))
    if arch not in fits:
        rows_text = "2H" if arch == "mingru" else "3H"
        raise InputError(f"arch: expected a checkpoint of the {arch} (weight_ih_l0 of {rows_text} rows), got "
                         f"weight_ih_l0 of shape {tuple(weight.shape)}")
    return arch, input_size, fits[arch]


def _matrix(state_dict: dict[str, torch.Tensor], key: str) -> torch.Tensor:
    if key not in state_dict:
        raise InputError(f"checkpoint: expected key {key!r}, which is missing")
    tensor = state_dict[key]
    if tensor.dim() != 2 or 0 in tensor.shape:
        raise InputError(f"checkpoint: expected a non-empty 2D {key}, got shape {tuple(tensor.shape)}")
    return tensor
