"""The one exception type for bad input.

Every check that rejects a user's input raises :class:`InputError` with a message that names the
argument, what was expected and what came. The CLI prints that message without a traceback and
exits with code 2.
"""

from __future__ import annotations

import math

import torch


class InputError(ValueError):
    """Bad input: the message names the argument, what was expected and what came."""


def require_positive_int(name: str, value: object) -> int:
    """Return ``value`` if it is an int ≥ 1, else raise :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{name}: expected a positive integer, got {value!r}")
    return value


def require_finite(name: str, tensor: torch.Tensor) -> torch.Tensor:
    """Return ``tensor`` if every entry is finite, else raise :class:`InputError` saying where."""
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        first_bad = tuple(int(i) for i in (~finite).nonzero()[0])
        value = tensor[first_bad].item()
        raise InputError(
            f"{name}: expected finite values, got {'nan' if math.isnan(value) else value} "
            f"at index {first_bad}"
        )
    return tensor


def require_bool(name: str, value: object) -> bool:
    """Return ``value`` if it is True or False, else raise :class:`InputError` (``'yes'`` is not a flag)."""
    if not isinstance(value, bool):
        raise InputError(f"{name}: expected True or False, got {value!r}")
    return value


def require_index(name: str, value: object, count: int) -> int:
    """Return ``value`` if it is an int in 0..count−1, else raise :class:`InputError`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
        raise InputError(f"{name}: expected 0..{count - 1}, got {value!r}")
    return value


PARAMETER_DTYPES = (torch.float32, torch.float64)


def require_parameter_dtype(name: str, dtype: object) -> torch.dtype | None:
    """Return ``dtype`` if it is None (torch's default, itself checked), float32 or float64.

    The analyses need real floating point with LAPACK support: int, bool, complex, float16 and
    bfloat16 parameters are refused here rather than failing deep inside a step.
    """
    resolved = torch.get_default_dtype() if dtype is None else dtype
    if resolved not in PARAMETER_DTYPES:
        shown = f"{dtype!r}" if dtype is not None else f"None (torch's default dtype, {resolved})"
        raise InputError(f"{name}: expected a real floating-point dtype (torch.float32 or torch.float64), got {shown}")
    return dtype


def require_cell_position(layer: object, direction: object) -> None:
    """Raise :class:`InputError` unless ``layer`` and ``direction`` are both the int 0 (a cell's only ones)."""
    if not all(isinstance(value, int) and not isinstance(value, bool) and value == 0 for value in (layer, direction)):
        raise InputError(f"layer, direction: a cell has only (0, 0), got ({layer!r}, {direction!r})")
