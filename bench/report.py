"""Time the default ``rnngrad report`` end to end and print the result as JSON.

Usage: ``python bench/report.py [--quick] [--workers N] [--lang en|ko] [--keep DIR]``. The report
is written to a temporary folder and removed afterwards (or kept in ``--keep``). Not a timed test: the target (≤ 120 s on 2 cores)
is checked by reading the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

# bench/profile.py would shadow the standard library's ``profile`` (which torch imports lazily,
# here and in the spawned training workers); drop this folder from the import path first.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != Path(__file__).resolve().parent]

import torch  # noqa: E402

from rnngrad.report import ReportConfig, run_report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--keep", type=Path, default=None, help="copy the report to this folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        start, cpu_start = time.perf_counter(), time.process_time()
        index = run_report(ReportConfig(quick=args.quick, lang=args.lang, workers=args.workers), Path(folder) / "report")
        wall = time.perf_counter() - start
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        document = json.loads((index.parent / "report.json").read_text(encoding="utf-8"))
        if args.keep is not None:
            shutil.copytree(index.parent, args.keep, dirs_exist_ok=True)
    print(json.dumps({
        "benchmark": "rnngrad report", "quick": args.quick, "workers": args.workers, "lang": args.lang,
        "wall_s": round(wall, 1), "main_process_cpu_s": round(time.process_time() - cpu_start, 1),
        "worker_processes_cpu_s": round(children.ru_utime + children.ru_stime, 1),
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "verdicts": {claim["id"]: claim["verdict"] for claim in document["claims"]},
    }))


if __name__ == "__main__":
    main()
