"""Tensors and floats to strict-JSON values and back, exactly.

A tensor becomes ``{"dtype": "float32", "shape": [T, B, H], "data": [...]}`` with the values
flattened in row-major order; a complex tensor (an LRU's state) lists each value as its real
and imaginary parts, one after the other. Python's float repr round-trips every float64 (and so every
float32) exactly. Strict JSON has no NaN or infinity: those are written as the strings
``"nan"``, ``"inf"`` and ``"-inf"``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from rnngrad.errors import InputError

_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32,
           "float64": torch.float64, "complex64": torch.complex64, "complex128": torch.complex128,
           "int64": torch.int64, "bool": torch.bool}
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def float_to_json(value: float) -> float | str:
    """A float, or "nan"/"inf"/"-inf" for the non-finite ones."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def float_from_json(value: float | int | str) -> float:
    """Inverse of :func:`float_to_json`."""
    if isinstance(value, str):
        if value not in _NON_FINITE:
            raise InputError(f"profile JSON: expected a number, 'nan', 'inf' or '-inf', got {value!r}")
        return _NON_FINITE[value]
    return float(value)


def tensor_to_json(tensor: Tensor | None) -> dict[str, Any] | None:
    """A JSON-ready dict for ``tensor`` (moved to the CPU), or None."""
    if tensor is None:
        return None
    dtype = str(tensor.dtype).removeprefix("torch.")
    if dtype not in _DTYPES:
        raise InputError(f"tensor: expected one of {sorted(_DTYPES)}, got {dtype}")
    flat = tensor.detach().cpu().reshape(-1)
    values = (torch.view_as_real(flat) if flat.is_complex() else flat).reshape(-1).tolist()
    if tensor.is_floating_point() or tensor.is_complex():
        values = [float_to_json(value) for value in values]
    return {"dtype": dtype, "shape": list(tensor.shape), "data": values}


def tensor_from_json(data: dict[str, Any] | None) -> Tensor | None:
    """Inverse of :func:`tensor_to_json` (a CPU tensor)."""
    if data is None:
        return None
    try:
        dtype = _DTYPES[data["dtype"]]
        shape = [int(size) for size in data["shape"]]
        values = data["data"]
    except (KeyError, TypeError) as error:
        raise InputError(
            f"profile JSON: expected a tensor with dtype, shape and data, got {error!r}"
        ) from None
    if dtype.is_floating_point or dtype.is_complex:
        values = [float_from_json(value) for value in values]
    parts = 2 if dtype.is_complex else 1  # (real, imaginary) per complex value
    if len(values) != parts * math.prod(shape):
        raise InputError(
            f"profile JSON: expected {parts * math.prod(shape)} values for shape {shape}, got {len(values)}"
        )
    if dtype.is_complex:
        real = torch.tensor(values, dtype=dtype.to_real()).reshape(-1, 2)
        return torch.view_as_complex(real).reshape(shape)
    return torch.tensor(values, dtype=dtype).reshape(shape)
