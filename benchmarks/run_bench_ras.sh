#!/usr/bin/env bash
# RAS reconstruction network, C++ (benchmarks/bench_ras.cpp) against PyTorch (benchmarks/torch_ras.py,
# Debian's /usr/bin/python3), side by side: for every thread count and case, N rounds, each round one
# process per side, the order alternating between rounds so both sides see the same machine load.
#   benchmarks/run_bench_ras.sh [-n ROUNDS] [-t "1 2"] [-c "272 168"] [-s]
#     -n  rounds per case (default 3)          -t  thread counts (OMP_NUM_THREADS / torch.set_num_threads)
#     -c  C_org values for the training step   -s  also print the per-section timings (medians)
#     -a  glibc malloc settings, both sides alike: "tuned" (default: GLIBC_TUNABLES with mmap and trim
#         thresholds of 4 GiB / 64 GiB, so freed blocks are reused instead of returned to the kernel),
#         "default" (glibc's defaults: blocks > 32 MiB are mmap-ed and unmapped on every allocation,
#         and each first touch of a page faults), or both: -a "tuned default"
#     -b  BLAS for PyTorch: "openblas" (default: a libblas.so.3 from OpenBLAS put first on
#         LD_LIBRARY_PATH for the torch processes only, $RAS_TORCH_BLAS_DIR or extracted from the
#         apt cache's libopenblas0-pthread .deb) or "system" (Debian's libblas.so.3 alternative,
#         which is netlib's reference BLAS on some machines: ~1.5 GFLOP/s, PyTorch 8x slower)
# Cases: train step at batch 64 (jitter + forward + MSE + backward + clip 0.1 + AdamW) per C_org;
# inference (reconstruction + 224x224 map) at batch 1 and 16 with C_org 272.
# Prints best-of and median seconds per side and the ratio torch / ras (> 1: C++ faster); the raw
# lines (with /proc/loadavg before each run) go to $RAS_BENCH_DIR/bench_ras.log.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 threads="1 2" channels="272 168" sections=0 blas=openblas allocs=tuned
while getopts "n:t:c:sb:a:" opt; do
  case $opt in
    n) rounds=$OPTARG ;;
    t) threads=$OPTARG ;;
    c) channels=$OPTARG ;;
    s) sections=1 ;;
    b) blas=$OPTARG ;;
    a) allocs=$OPTARG ;;
    *) sed -n 2,20p "$0"; exit 2 ;;
  esac
done
dir=${RAS_BENCH_DIR:-/tmp/ras-bench}
mkdir -p "$dir"
exe=$dir/bench_ras
log=$dir/bench_ras.log
if [ ! -x "$exe" ] || [ benchmarks/bench_ras.cpp -nt "$exe" ] || [ -n "$(find include -newer "$exe" -name '*.hpp' | head -1)" ]; then
  echo "building $exe (-O3 -march=native -fopenmp)"
  g++ -std=c++20 -O3 -DNDEBUG -march=native -fopenmp -Iinclude -isystem /usr/include/eigen3 \
    benchmarks/bench_ras.cpp -o "$exe"
fi
: >"$log"
source benchmarks/torch_blas.sh  # (cwd is the repository root here)

tuned_malloc=glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=68719476736
run() {  # alloc side threads args...
  local alloc=$1 side=$2 t=$3; shift 3
  local malloc_env=(GLIBC_TUNABLES=)
  [ "$alloc" = tuned ] && malloc_env=(GLIBC_TUNABLES=$tuned_malloc)
  echo "LOAD $(cut -d' ' -f1-3 /proc/loadavg) alloc=$alloc side=$side threads=$t $*" >>"$log"
  if [ "$side" = ras ]; then
    env "${malloc_env[@]}" OMP_NUM_THREADS="$t" "$exe" --threads "$t" --sections "$@"
  else
    env "${torch_env[@]}" "${malloc_env[@]}" OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" \
      /usr/bin/python3 benchmarks/torch_ras.py --threads "$t" --sections "$@"
  fi | sed "s/^\(RESULT\|SECTION\) /\1 alloc=$alloc /" >>"$log"
}

cases=()
for c in $channels; do cases+=("--task train --channels $c --batch 64 --iters 1 --warmup 1"); done
cases+=("--task infer --channels 272 --batch 1 --iters 5 --warmup 2")
cases+=("--task infer --channels 272 --batch 16 --iters 2 --warmup 1")

for alloc in $allocs; do
  for t in $threads; do
    for cs in "${cases[@]}"; do
      echo "malloc $alloc, threads $t: $cs ($rounds rounds)"
      for ((r = 1; r <= rounds; ++r)); do
        # shellcheck disable=SC2086
        if ((r % 2)); then run $alloc ras $t $cs; run $alloc torch $t $cs
        else run $alloc torch $t $cs; run $alloc ras $t $cs; fi
      done
    done
  done
done

/usr/bin/python3 - "$log" "$sections" <<'EOF'
import re, statistics, sys
log, show_sections = sys.argv[1], sys.argv[2] == "1"
res, sec = {}, {}
for line in open(log):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    if line.startswith(("RESULT", "SECTION")):
        key = (kv["alloc"], kv["task"], int(kv["channels"]), int(kv["batch"]), int(kv["threads"]))
        if line.startswith("RESULT"):
            res.setdefault(key, {}).setdefault(kv["impl"], []).append(float(kv["seconds"]))
        else:
            sec.setdefault(key, {}).setdefault(kv["impl"], {}).setdefault(kv["name"], []).append(float(kv["seconds"]))
print(f"\n{'malloc':<8}{'case':<24}{'threads':>8}{'ras best':>11}{'ras med':>10}{'torch best':>12}{'torch med':>11}"
      f"{'torch/ras best':>16}{'med':>7}{'  n':>4}")
for key in sorted(res, key=lambda k: (k[0] != "tuned", k[4], k[1] != "train", k[2] != 272, k[3])):
    alloc, task, c, b, t = key
    r, p = res[key].get("ras", []), res[key].get("torch", [])
    if not r or not p:
        continue
    name = f"{task} C={c} B={b}"
    unit = lambda s: f"{s:.3f}s" if task == "train" else f"{b / s:.1f}/s"
    rb, rm, pb, pm = min(r), statistics.median(r), min(p), statistics.median(p)
    print(f"{alloc:<8}{name:<24}{t:>8}{unit(rb):>11}{unit(rm):>10}{unit(pb):>12}{unit(pm):>11}{pb / rb:>16.2f}{pm / rm:>7.2f}"
          f"{min(len(r), len(p)):>4}")
    if show_sections and key in sec:
        for impl in ("ras", "torch"):
            parts = sec[key].get(impl, {})
            print("    " + impl + ": " + ", ".join(f"{n} {statistics.median(v):.3f}s" for n, v in parts.items()))
print("(inference columns are images/s; train columns seconds per step; ratio = torch time / ras time)")
EOF
