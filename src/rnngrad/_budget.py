"""The element budget: how many numbers a file or an option may ask rnngrad to hold at once.

Sizes that come from outside (the shapes in a checkpoint, the (T, I) of an inputs file, the
T × batch size × hidden size of a training run) are checked against one budget **before**
anything is allocated, so a 2 KB file that declares a 400000×100000 weight is refused at once
instead of asking for 320 GB. The budget counts elements (numbers), not bytes: the default,
:data:`DEFAULT_MAX_ELEMENTS` = 10⁸, is 800 MB in float64. Set the environment variable
``RNNGRAD_MAX_ELEMENTS`` (an integer such as ``1000000000`` or ``1e9``) to raise or lower it.
"""

from __future__ import annotations

import math
import os

from rnngrad.errors import InputError

ENV_VAR = "RNNGRAD_MAX_ELEMENTS"
DEFAULT_MAX_ELEMENTS = 10**8  # 800 MB in float64


def max_elements() -> int:
    """The budget: ``RNNGRAD_MAX_ELEMENTS`` if set, else :data:`DEFAULT_MAX_ELEMENTS`."""
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return DEFAULT_MAX_ELEMENTS
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value.is_integer() and value >= 1):
        raise InputError(f"{ENV_VAR}: expected a positive integer number of elements, got {text!r}")
    return int(value)


def check_elements(argument: str, count: int, what: str) -> None:
    """Raise :class:`InputError` naming ``argument`` if ``count`` elements exceed the budget.

    ``what`` says where the count comes from (``"weight_hh_l0 of shape (400000, 100000)"``).
    """
    budget = max_elements()
    if count > budget:
        raise InputError(
            f"{argument}: expected at most {budget:,} elements (the budget {ENV_VAR}; set it higher "
            f"to allow more), got {count:,} ({what})"
        )
