#!/usr/bin/env bash
# The prepared GPU check (one run on a machine with an NVIDIA GPU; about 6-9 minutes on an H200 with
# 16 cores, most of it the nvcc build). Steps, each logged to $out/<step>.log:
#   1. build the CUDA targets for this GPU (scripts/run-cuda-compile.sh, RAS_CUDA_ARCHS default native)
#   2. the Cuda parity test: every kernel vs Reference, RAS step and MobileNetV2 vs Cpu
#   3. `ras train` 2 epochs on ../shared/data (mvtec_bottle + mpdd_metal_plate, MobileNetV2) with
#      --device cpu and with --device cuda (same seed, same cached features); loss curves and final
#      metrics side by side (evaluation runs on the CPU in both: `ras eval` has no cuda path yet)
#   4. timing: one RAS training step (batch 64) and inference (reconstruction + anomaly map), images/s,
#      on cuda and on cpu (benchmarks/bench_ras_cuda.cu)
# Output folder: $OUT when set (the device tool's folder), else runs/gpu-checks. Exit status: 1 when
# the parity test or a training run failed, else 0. Environment: RAS_EPOCHS (2), RAS_CUDA_ARCHS (native).
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-runs/gpu-checks}
mkdir -p "$out"
shared=$(cd .. && pwd)/shared
weights=$shared/weights/mobilenet_v2_imagenet.safetensors
epochs=${RAS_EPOCHS:-2}
status=0
log() { echo "== $*" | tee -a "$out/summary.txt"; }
t0=$(date +%s)

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$out/gpu.txt" 2>&1 || true
log "GPU: $(cat "$out/gpu.txt")  CPU cores: $(nproc)"

# 1. build
s=$(date +%s)
if ! RAS_CUDA_BUILD_DIR=build-gpu RAS_CUDA_ARCHS=${RAS_CUDA_ARCHS:-native} \
     RAS_CUDA_TARGETS="ras_cuda_parity ras_cli bench_ras_cuda" ./scripts/run-cuda-compile.sh > "$out/build.log" 2>&1; then
  log "build FAILED (see build.log)"; tail -30 "$out/build.log"; exit 1
fi
log "build: $(( $(date +%s) - s )) s"

# 2. parity
s=$(date +%s)
timeout 300 ./build-gpu/tests/ras_cuda_parity > "$out/parity.log" 2>&1
rc=$?
log "parity: exit $rc in $(( $(date +%s) - s )) s: $(tail -1 "$out/parity.log")"
grep '^FAIL' "$out/parity.log" | head -40 | tee -a "$out/summary.txt"
[ $rc -eq 0 ] || status=1

# 3. train on cpu and on cuda
cache=$out/feature-cache
for dev in cpu cuda; do
  s=$(date +%s)
  rm -rf "$out/train-$dev"
  timeout 900 ./build-gpu/examples/ras train --device "$dev" \
    --data "$shared/data/mvtec_bottle" --data "$shared/data/mpdd_metal_plate" \
    --backbone mobilenet_v2 --weights "$weights" --epochs "$epochs" --heatmaps 0 \
    --cache "$cache" --out "$out/train-$dev" > "$out/train-$dev.log" 2>&1
  rc=$?
  log "train --device $dev: exit $rc in $(( $(date +%s) - s )) s"
  [ $rc -eq 0 ] || { status=1; tail -5 "$out/train-$dev.log" | tee -a "$out/summary.txt"; }
done
if [ -f "$out/train-cpu/train_log.csv" ] && [ -f "$out/train-cuda/train_log.csv" ]; then
  log "loss curves (epoch, mean loss, train seconds): cpu | cuda"
  paste -d'|' "$out/train-cpu/train_log.csv" "$out/train-cuda/train_log.csv" | tee -a "$out/summary.txt"
fi
if [ -f "$out/train-cpu/metrics.json" ] && [ -f "$out/train-cuda/metrics.json" ] && command -v python3 > /dev/null; then
  log "final metrics: cpu vs cuda"
  python3 - "$out/train-cpu/metrics.json" "$out/train-cuda/metrics.json" <<'PY' | tee -a "$out/summary.txt"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
def flat(d, pre=""):
    for k, v in (d.items() if isinstance(d, dict) else enumerate(d)):
        if isinstance(v, (dict, list)): yield from flat(v, f"{pre}{k}.")
        elif isinstance(v, (int, float)) and not isinstance(v, bool): yield f"{pre}{k}", float(v)
fa, fb = dict(flat(a)), dict(flat(b))
for k in sorted(fa):
    kl = k.lower()
    if k in fb and ("auroc" in kl or "aupro" in kl or kl.endswith("_ap")):
        print(f"{k:60s} cpu {fa[k]:.4f}  cuda {fb[k]:.4f}  diff {fb[k] - fa[k]:+.4f}")
PY
fi

# 4. timing
for task in train infer; do
  for dev in cuda cpu; do
    iters=10; [ "$dev" = cpu ] && iters=3
    ./build-gpu/benchmarks/bench_ras_cuda --device "$dev" --task "$task" --iters "$iters" --warmup 1 \
      > "$out/bench-$task-$dev.log" 2>&1
    best=$(grep '^RESULT' "$out/bench-$task-$dev.log" | sed 's/.*seconds=\([0-9.]*\).*/\1/' | sort -g | head -1)
    log "bench $task --device $dev (batch 64, C 272): best ${best:-?} s = $(awk -v s="${best:-0}" 'BEGIN{ if (s > 0) printf "%.1f", 64 / s; else print "?" }') images/s"
  done
done
log "total: $(( $(date +%s) - t0 )) s, status $status"
exit $status
