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
