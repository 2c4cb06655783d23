"""Numbers for strict JSON, which has no NaN or infinity: a non-finite value is written as null."""

from __future__ import annotations

import math
from typing import Any, Iterable

import torch


def finite_or_none(value: float | torch.Tensor | None) -> float | None:
    """``value`` as a float, or None when it is None, NaN or ±inf."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def finite_list(values: torch.Tensor | Iterable[float]) -> list[float | None]:
    """:func:`finite_or_none` of every entry of a 1-D tensor or sequence."""
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    return [finite_or_none(value) for value in values]


def number(value: Any, digits: int = 6) -> float | int | None:
    """A JSON-safe number: floats rounded to ``digits`` significant digits, non-finite -> None."""
    if isinstance(value, torch.Tensor):
        value = value.item()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    value = finite_or_none(value)
    return None if value is None else float(f"{value:.{digits}g}")


def numbers(values: Any, digits: int = 6) -> list:
    """A JSON-safe list of :func:`number` (nested lists kept nested)."""
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    return [numbers(v, digits) if isinstance(v, (list, tuple)) else number(v, digits) for v in values]
