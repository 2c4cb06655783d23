"""Timing ways of doing the same work side by side, in blocks, as a training loop runs them.

Each repetition runs every function ``block`` times in a row and keeps the times of all calls
but the block's first, so each kept call follows a call of its own kind (as one step of a
training loop follows the last): a call that leaves its successor work to do (memory to map
again, a cache to refill) pays for it itself and does not bill the other function. The order of
the functions rotates from one repetition to the next, so none always runs first.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable

BLOCK = 3  # calls of one function in a row; the first of each block is not kept


def in_blocks(functions: dict[str, Callable[[], object]], repeats: int, before: Callable[[], object] = lambda: None,
              block: int = BLOCK) -> dict[str, list[float]]:
    """Seconds per kept call of each function (``repeats × (block − 1)`` each)."""
    for function in functions.values():  # warm-up (and any one-time build)
        before()
        function()
    times = {name: [] for name in functions}
    names = list(functions)
    for repetition in range(repeats):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            for call in range(block):
                before()
                start = time.perf_counter()
                functions[name]()
                if call:
                    times[name].append(time.perf_counter() - start)
    return times


def ratios(times: dict[str, list[float]], base: str) -> dict:
    """Medians (ms), their ratios to ``base``'s, and the medians of the per-call ratios."""
    medians = {name: statistics.median(t) for name, t in times.items()}
    return {
        "median_ms": {name: round(m * 1e3, 3) for name, m in medians.items()},
        "ratio": {name: round(m / medians[base], 3) for name, m in medians.items() if name != base},
        "paired_ratio": {name: round(statistics.median(a / b for a, b in zip(t, times[base])), 3)
                         for name, t in times.items() if name != base},
    }


def alternating(plain: Callable[[], object], profiled: Callable[[], object], repeats: int,
                before: Callable[[], object] = lambda: None) -> dict:
    """``plain`` against ``profiled`` in blocks: medians (ms), ratio, median per-call ratio."""
    times = in_blocks({"plain": plain, "profile": profiled}, repeats, before)
    result = ratios(times, "plain")
    return {"median_ms": result["median_ms"], "ratio": result["ratio"]["profile"],
            "paired_ratio": result["paired_ratio"]["profile"]}
