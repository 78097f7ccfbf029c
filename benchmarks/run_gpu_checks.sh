#!/usr/bin/env bash
# The prepared GPU check (one run on a machine with an NVIDIA GPU; about 7-10 minutes on an H200 with
# 16 cores, most of it the nvcc build). Steps, each logged to $out/<step>.log:
#   1. build the CUDA targets for this GPU (scripts/run-cuda-compile.sh, RAS_CUDA_ARCHS default native)
#   2. the Cuda parity test: every kernel vs Reference, RAS step and MobileNetV2 vs Cpu
#   3. `ras train` 2 epochs on ../shared/data (mvtec_bottle + mpdd_metal_plate, MobileNetV2) with
#      --device cpu and with --device cuda (same seed, same cached features); loss curves and final
#      metrics side by side (the evaluation inside `ras train` runs on the device it trains on)
#   4. the scoring pipeline on the GPU: `ras eval`, `ras score` and `ras features` with --device cuda
#      and --device cpu on the model trained on the CPU (no feature cache: the backbone runs on each
#      device), compared within stated tolerances: every metric within 0.005 absolute, every image
#      score and every feature within |cuda - cpu| <= 1e-3 + 1e-2 |cpu| (scores) / 1e-3 + 1e-3 |cpu|
#      (features); wall time of each eval (images/s)
#   5. timing: one RAS training step (batch 64) and inference (reconstruction + anomaly map), images/s,
#      on cuda and on cpu (benchmarks/bench_ras_cuda.cu)
# Output folder: $OUT when set (the device tool's folder), else runs/gpu-checks. Exit status: 1 when
# the parity test, a training run or a cuda-vs-cpu comparison of step 4 failed, else 0.
# Environment: RAS_EPOCHS (2), RAS_CUDA_ARCHS (native).
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

# 4. ras eval / score / features on cuda vs cpu (the model trained on the CPU in step 3)
model=$out/train-cpu/model.safetensors
ras=./build-gpu/examples/ras
if [ -f "$model" ]; then
  for dev in cpu cuda; do
    s=$(date +%s.%N)
    timeout 900 $ras eval --device "$dev" --model "$model" --data "$shared/data/mvtec_bottle" \
      --data "$shared/data/mpdd_metal_plate" --json "$out/eval-$dev.json" > "$out/eval-$dev.log" 2>&1
    rc=$?
    secs=$(awk -v a="$s" -v b="$(date +%s.%N)" 'BEGIN{ printf "%.1f", b - a }')
    n=$(find "$shared/data/mvtec_bottle/test" "$shared/data/mpdd_metal_plate/test" -type f | wc -l)
    log "eval --device $dev: exit $rc in $secs s ($n test images, incl. backbone and loading: $(awk -v n="$n" -v s="$secs" 'BEGIN{ printf "%.1f", n / s }') images/s)"
    [ $rc -eq 0 ] || { status=1; tail -5 "$out/eval-$dev.log" | tee -a "$out/summary.txt"; }
    timeout 600 $ras score --device "$dev" --model "$model" "$shared/data/mvtec_bottle/test" > "$out/score-$dev.csv" 2> "$out/score-$dev.log"
    rc=$?; log "score --device $dev: exit $rc"; [ $rc -eq 0 ] || status=1
    timeout 600 $ras features --device "$dev" --backbone mobilenet_v2 --weights "$weights" \
      --out "$out/features-$dev.npy" "$shared/data/mvtec_bottle/test" > "$out/features-$dev.log" 2>&1
    rc=$?; log "features --device $dev: exit $rc"; [ $rc -eq 0 ] || status=1
  done
  if command -v python3 > /dev/null; then
    log "cuda vs cpu: ras eval metrics, ras score scores, ras features values"
    python3 - "$out" <<'PY' 2>&1 | tee -a "$out/summary.txt"
import array, ast, csv, json, sys
out = sys.argv[1]
bad = 0
def check(what, ok, detail):
    global bad
    bad += not ok
    print(f"{'ok  ' if ok else 'FAIL'} {what}: {detail}")
try:
    a, b = (json.load(open(f"{out}/eval-{d}.json")) for d in ("cpu", "cuda"))
    worst = 0.0
    for cls in a["classes"]:
        for k, v in a["classes"][cls].items():
            if isinstance(v, (int, float)) and not k.endswith("_images"):
                worst = max(worst, abs(b["classes"][cls][k] - v))
                print(f"  {cls:20s} {k:14s} cpu {v:.4f}  cuda {b['classes'][cls][k]:.4f}")
    check("eval metrics", worst <= 0.005, f"largest |cuda - cpu| {worst:.5f} (tolerance 0.005)")
except Exception as e:
    check("eval metrics", False, repr(e))
try:
    rows = [list(csv.reader(open(f"{out}/score-{d}.csv")))[1:] for d in ("cpu", "cuda")]
    assert len(rows[0]) == len(rows[1]) > 0, "different numbers of images"
    worst = max(abs(float(y[1]) - float(x[1])) / (1e-3 + 1e-2 * abs(float(x[1]))) for x, y in zip(*rows))
    check("score", worst <= 1, f"{len(rows[0])} images, largest |cuda - cpu| / (1e-3 + 1e-2 |cpu|) = {worst:.3f}")
except Exception as e:
    check("score", False, repr(e))
def npy(path):
    with open(path, "rb") as f:
        assert f.read(6) == b"\x93NUMPY"
        major = f.read(2)[0]
        n = int.from_bytes(f.read(2 if major == 1 else 4), "little")
        header = ast.literal_eval(f.read(n).decode("latin1"))
        assert header["descr"] == "<f4", header
        v = array.array("f")
        v.frombytes(f.read())
        return header["shape"], v
try:
    (sa, va), (sb, vb) = npy(f"{out}/features-cpu.npy"), npy(f"{out}/features-cuda.npy")
    assert sa == sb, f"shapes {sa} vs {sb}"
    worst = max(abs(y - x) / (1e-3 + 1e-3 * abs(x)) for x, y in zip(va, vb))
    check("features", worst <= 1, f"shape {sa}, largest |cuda - cpu| / (1e-3 + 1e-3 |cpu|) = {worst:.3f}")
except Exception as e:
    check("features", False, repr(e))
sys.exit(1 if bad else 0)
PY
    [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  fi
else
  log "eval/score/features on cuda vs cpu: skipped (no model from train --device cpu)"; status=1
fi

# 5. timing
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
