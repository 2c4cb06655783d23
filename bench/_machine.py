"""What every benchmark's JSON says about where it ran (speed claims must hold on AVX2 and AVX-512)."""

from __future__ import annotations

import datetime
import os
import platform


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (the platform's processor string elsewhere)."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def machine_facts() -> dict:
    """CPU model, torch's CPU capability, the oneDNN ISA cap, threads, torch version, date, load."""
    import torch

    return {
        "cpu_model": cpu_model(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "onednn_max_cpu_isa": os.environ.get("ONEDNN_MAX_CPU_ISA"),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "load_average_1min": round(os.getloadavg()[0], 2),  # a busy machine turns ratios into noise
    }
