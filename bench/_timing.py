"""Timing two ways of doing the same work, side by side: repetitions alternate which runs first."""

from __future__ import annotations

import statistics
import time
from typing import Callable


def alternating(plain: Callable[[], object], profiled: Callable[[], object], repeats: int,
                before: Callable[[], object] = lambda: None) -> dict:
    """Medians of ``plain`` and ``profiled`` (ms), their ratio, and the median per-repetition ratio."""
    plain(), profiled()  # warm-up (and any one-time build)
    times = {"plain": [], "profile": []}
    for repetition in range(repeats):
        pairs = (("plain", plain), ("profile", profiled))
        for name, run in (pairs if repetition % 2 == 0 else pairs[::-1]):
            before()
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) * 1e3 for name, values in times.items()}
    return {"median_ms": {name: round(value, 2) for name, value in medians.items()},
            "ratio": round(medians["profile"] / medians["plain"], 3),
            "paired_ratio": round(statistics.median(p / q for p, q in zip(times["profile"], times["plain"])), 3)}
