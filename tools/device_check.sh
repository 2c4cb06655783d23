#!/usr/bin/env bash
# The checks that need a CUDA device, in one run (issue 18: the profiler on cuDNN), for the
# `device` tool of this workplace: run from the repository root with $OUT set, e.g.
#
#     run(command="bash tools/device_check.sh", timeout_s=480)
#
# The device machine has torch (CUDA), pytest, typer, rich, numpy and matplotlib but cannot
# install anything, so rnngrad runs from src/ (PYTHONPATH), and the optional extras' tests are
# not collected. Everything it prints also lands in $OUT/device_check.log; the benchmark's JSON in
# $OUT/profile_cuda.json.
set -uo pipefail
OUT="${OUT:-/tmp/device_check}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src" PYTHONUNBUFFERED=1
{
    date -u +%FT%TZ
    nvidia-smi -L
    python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))'
    # The CUDA tests: the profiler's per-step gradients on cuDNN modules against the CPU oracle.
    timeout 300 python3 -m pytest -q -p no:cacheprovider -o addopts="" -W ignore tests/profiler/test_cuda.py
    echo "pytest exit: $?"
    # profile / fused forward + backward on the GPU, every size of issue 18's table and the LM step.
    timeout 240 python3 bench/profile.py --device cuda --repeats 9 > "$OUT/profile_cuda.json"
    echo "bench exit: $?"
    python3 - "$OUT/profile_cuda.json" <<'EOF'
import json, sys
result = json.load(open(sys.argv[1]))
for row in result["modules"]:
    print(row["kind"], row["B"], row["T"], row["H"], row["I"], row["layers"], row["median_ms"], row["ratio"])
print("language model", result["language_model"]["ratio"])
EOF
} 2>&1 | tee "$OUT/device_check.log"
