"""Refresh rnngrad's packaged long-range summary (claim C14) from the sweep's summary.json.

    rnngrad results --db docs/results/sweep.db --spec docs/results/sweep-spec.json --out docs/results
    python tools/refresh_long_range.py [docs/results/summary.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from rnngrad.claims.diagonal_training import PACKAGED, extract

source = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/results/summary.json")
target = Path(__file__).resolve().parents[1] / "src" / "rnngrad" / "claims" / "data" / PACKAGED
target.parent.mkdir(exist_ok=True)
target.write_text(json.dumps(extract(json.loads(source.read_text())), indent=1) + "\n")
print(f"wrote {target}")
