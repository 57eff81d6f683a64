#!/usr/bin/env bash
# Every GPU measurement of issue #26 in one go, in under 10 minutes on one H100 or H200:
#   1. the device (name, memory, torch and CUDA versions);
#   2. the CUDA tests: pytest -m gpu (bf16 proxies, swarm == solo for vmap and bmm, SDPA, batches built on the GPU,
#      compiled swarm, swarm size from free memory);
#   3. benchmarks/bench_train.py gpu: tokens/s and MFU (6ND, bf16 dense peak) of the ~20M and ~100M configs with
#      torch.compile + SDPA; proxy runs per GPU-hour for 1M- and 15M-parameter proxies, sequential (eager, SDPA,
#      compiled) against swarms (bmm and vmap at several K, the K chosen from free memory, compiled) and 8 CUDA
#      streams; peak memory of each.
# Results: benchmarks/results/train_gpu.json (written after every measurement, so a cut-short run keeps what it
# measured) and benchmarks/results/gpu_check.log.
#
#   bash benchmarks/gpu_check.sh             # on a CUDA machine
#   bash benchmarks/gpu_check.sh --dry-run   # anywhere: the same steps on the CPU, tiny sizes, a few steps
#
# Needs: this repository installed with `pip install -e '.[dev]'` (pytest) and a CUDA build of torch; no network.
# Text for the shards: ../shared/data/corpora (the 7 domain corpora) when present, else the built-in sample corpus
# (written here with the package's own generator), else synthetic text. PYTHON picks the interpreter (default:
# python); GPU_CHECK_OUT the scratch folder (default: benchmarks/out/gpu_check).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
OUT=${GPU_CHECK_OUT:-benchmarks/out/gpu_check}
DRY=""
[ "${1:-}" = "--dry-run" ] && DRY="--dry-run"
TOTAL_S=570          # hard stop for the whole script (device time: leave a margin under 10 minutes)
PYTEST_S=150         # at most this long for the CUDA tests
mkdir -p "$OUT" benchmarks/results
LOG=benchmarks/results/gpu_check${DRY:+_dry_run}.log
exec > >(tee "$LOG") 2>&1
start=$(date +%s)
elapsed() { echo $(( $(date +%s) - start )); }

echo "== device"
$PY - <<'EOF'
import torch
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, available: {torch.cuda.is_available()}")
if torch.cuda.is_available():
    free, total = torch.cuda.mem_get_info()
    print(f"{torch.cuda.get_device_name()}: {total / 2**30:.1f} GiB ({free / 2**30:.1f} free), "
          f"capability {torch.cuda.get_device_capability()}")
EOF

echo "== CUDA tests (pytest -m gpu)$([ -n "$DRY" ] && echo ': no CUDA here, so they must skip cleanly')"
timeout "$PYTEST_S" $PY -m pytest -m gpu tests -q -p no:cacheprovider -rs 2>&1 | tail -25
PYTEST_RC=${PIPESTATUS[0]}
echo "pytest exit status: $PYTEST_RC ($(elapsed)s so far)"

echo "== benchmarks/bench_train.py gpu $DRY"
LEFT=$(( TOTAL_S - $(elapsed) ))
# stop starting measurements ~60 s before the hard stop, so the last one (a compile) can finish
timeout "$LEFT" $PY benchmarks/bench_train.py gpu $DRY --out "$OUT" --budget-s $(( LEFT - 60 )) \
    --pytest-status "$PYTEST_RC"
BENCH_RC=$?
echo "bench exit status: $BENCH_RC"

echo "== summary ($(elapsed)s in all)"
RESULT=benchmarks/results/train_gpu${DRY:+_dry_run}.json
$PY - "$RESULT" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"device: {r['device']}  text: {r.get('text')}  vocab {r.get('vocab')}  CUDA tests exit {r.get('pytest_status')}")
for row in r.get("single", []):
    if "tokens_per_s" in row:
        mfu = f"MFU {row['mfu_6nd']:.1%}" if row.get("mfu_6nd") is not None else "MFU n/a"
        print(f"  {row['model']:>5}: {row['tokens_per_s']:,.0f} tokens/s, {mfu}, peak {row['peak_memory_gib']:.1f} GiB")
    else:
        print(f"  {row['what']}: {row.get('error') or row.get('skipped')}")
for p in r.get("proxies", []):
    if "swarm_over_sequential" in p:
        print(f"  proxy {p['model']} ({p['params']:,} params, {p['tokens_per_run']:,} tokens/run): "
              f"{p['runs_per_gpu_hour_swarm']:,.1f} runs/GPU-hour with {p['best_swarm']} vs "
              f"{p['runs_per_gpu_hour_sequential']:,.1f} sequential = {p['swarm_over_sequential']:.1f}x "
              f"(auto K {p.get('auto_swarm_size')})")
    for row in p["rows"]:
        if "error" in row or "skipped" in row:
            print(f"    {row['what']}: {row.get('error') or row.get('skipped')}")
print(f"-> {sys.argv[1]}")
EOF
exit $(( PYTEST_RC != 0 && PYTEST_RC != 5 || BENCH_RC != 0 ))
