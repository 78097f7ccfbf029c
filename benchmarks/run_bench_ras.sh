#!/usr/bin/env bash
# RAS reconstruction network, C++ (benchmarks/bench_ras.cpp) against PyTorch (benchmarks/torch_ras.py,
# Debian's /usr/bin/python3), side by side: for every thread count and case, N rounds, each round one
# process per side, the order alternating between rounds so both sides see the same machine load.
#   benchmarks/run_bench_ras.sh [-n ROUNDS] [-t "1 2"] [-c "272"] [-i "16"] [-w "idle busy"] [-s]
#     -n  rounds per case (default 3)          -t  thread counts (OMP_NUM_THREADS / torch.set_num_threads)
#     -c  C_org values for the training step   -i  batch sizes of the inference case (default 16)
#     -w  machine states: "idle" and/or "busy" (default both): busy runs the training step at the largest
#         thread count again while another process (`nice -n 19` busy loop) holds one core
#     -s  also print the per-section timings (medians)
#     -a  glibc malloc settings, both sides alike: "tuned" (default: GLIBC_TUNABLES with mmap and trim
#         thresholds of 4 GiB / 64 GiB, so freed blocks are reused instead of returned to the kernel),
#         "default" (glibc's defaults: blocks > 32 MiB are mmap-ed and unmapped on every allocation,
#         and each first touch of a page faults), or both: -a "tuned default"
#     -b  BLAS for PyTorch: "openblas" (default: a libblas.so.3 from OpenBLAS put first on
#         LD_LIBRARY_PATH for the torch processes only, $RAS_TORCH_BLAS_DIR or extracted from the
#         apt cache's libopenblas0-pthread .deb) or "system" (Debian's libblas.so.3 alternative,
#         which is netlib's reference BLAS on some machines: ~1.5 GFLOP/s, PyTorch 8x slower)
# Cases: train step at batch 64 (jitter + forward + MSE + backward + clip 0.1 + AdamW) per C_org;
# inference (reconstruction + 224x224 map) at the -i batch sizes with C_org 272.
# Prints best-of and median seconds per side and the ratio torch / ras (> 1: C++ faster); the raw
# lines (with /proc/loadavg before each run) go to $RAS_BENCH_DIR/bench_ras.log. Ends with
# machine-readable lines, one per case (case names like train-c272-b64-t2, infer-c272-b16-t1,
# train-c272-b64-t2-busy):
#   RATIO <case> <torch-over-ras best-of-N> <median>
#   RSS <case> <ras peak MB> <torch peak MB>        (largest ru_maxrss over the rounds)
#   BUSY <case> <ras busy/idle best> <median> <torch busy/idle best> <median>
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 threads="1 2" channels="272" infer_batches="16" states="idle busy" sections=0 blas=openblas allocs=tuned
while getopts "n:t:c:i:w:sb:a:" opt; do
  case $opt in
    n) rounds=$OPTARG ;;
    t) threads=$OPTARG ;;
    c) channels=$OPTARG ;;
    i) infer_batches=$OPTARG ;;
    w) states=$OPTARG ;;
    s) sections=1 ;;
    b) blas=$OPTARG ;;
    a) allocs=$OPTARG ;;
    *) sed -n 2,30p "$0"; exit 2 ;;
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
run() {  # state alloc side threads args...
  local state=$1 alloc=$2 side=$3 t=$4; shift 4
  local malloc_env=(GLIBC_TUNABLES=)
  [ "$alloc" = tuned ] && malloc_env=(GLIBC_TUNABLES=$tuned_malloc)
  echo "LOAD $(cut -d' ' -f1-3 /proc/loadavg) state=$state alloc=$alloc side=$side threads=$t $*" >>"$log"
  if [ "$side" = ras ]; then
    env "${malloc_env[@]}" OMP_NUM_THREADS="$t" "$exe" --threads "$t" --sections "$@"
  else
    env "${torch_env[@]}" "${malloc_env[@]}" OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" \
      /usr/bin/python3 benchmarks/torch_ras.py --threads "$t" --sections "$@"
  fi | sed "s/^\(RESULT\|SECTION\|MAXRSS\) /\1 state=$state alloc=$alloc /" >>"$log"
}
busy_pid=
stop_busy() { if [ -n "$busy_pid" ]; then kill "$busy_pid" 2>/dev/null || true; wait "$busy_pid" 2>/dev/null || true; busy_pid=; fi; }
trap stop_busy EXIT

cases=()
for c in $channels; do cases+=("--task train --channels $c --batch 64 --iters 1 --warmup 1"); done
for b in $infer_batches; do cases+=("--task infer --channels 272 --batch $b --iters 3 --warmup 1"); done
max_t=0
for t in $threads; do ((t > max_t)) && max_t=$t; done

round_pair() {  # state alloc threads case round: both sides, the order alternating with the round
  local state=$1 alloc=$2 t=$3 cs=$4 r=$5
  # shellcheck disable=SC2086
  if ((r % 2)); then run $state $alloc ras $t $cs; run $state $alloc torch $t $cs
  else run $state $alloc torch $t $cs; run $state $alloc ras $t $cs; fi
}
for alloc in $allocs; do
  for state in $states; do
    for t in $threads; do
      for cs in "${cases[@]}"; do
        if [ "$state" = busy ]; then
          # The busy case: the training step at the largest thread count, one core held by another process.
          [[ "$cs" == *"--task train"* && $t == "$max_t" ]] || continue
          nice -n 19 bash -c 'while :; do :; done' &
          busy_pid=$!
        fi
        echo "$state, malloc $alloc, threads $t: $cs ($rounds rounds)"
        for ((r = 1; r <= rounds; ++r)); do round_pair "$state" "$alloc" "$t" "$cs" "$r"; done
        stop_busy
      done
    done
  done
done

/usr/bin/python3 - "$log" "$sections" <<'EOF'
import re, statistics, sys
log, show_sections = sys.argv[1], sys.argv[2] == "1"
res, sec, rss = {}, {}, {}
for line in open(log):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    if line.startswith(("RESULT", "SECTION", "MAXRSS")):
        key = (kv["state"], kv["alloc"], kv["task"], int(kv["channels"]), int(kv["batch"]), int(kv["threads"]))
        if line.startswith("RESULT"):
            res.setdefault(key, {}).setdefault(kv["impl"], []).append(float(kv["seconds"]))
        elif line.startswith("MAXRSS"):
            rss.setdefault(key, {}).setdefault(kv["impl"], []).append(float(kv["mb"]))
        else:
            sec.setdefault(key, {}).setdefault(kv["impl"], {}).setdefault(kv["name"], []).append(float(kv["seconds"]))
def case_name(key):
    state, alloc, task, c, b, t = key
    return f"{task}-c{c}-b{b}-t{t}" + ("-busy" if state == "busy" else "") + ("" if alloc == "tuned" else f"-{alloc}")
print(f"\n{'state':<6}{'malloc':<8}{'case':<24}{'threads':>8}{'ras best':>11}{'ras med':>10}{'torch best':>12}"
      f"{'torch med':>11}{'torch/ras best':>16}{'med':>7}{'  n':>4}{'ras MB':>9}{'torch MB':>10}")
order = sorted(res, key=lambda k: (k[0] != "idle", k[1] != "tuned", k[5], k[2] != "train", k[3] != 272, k[4]))
machine = []
for key in order:
    state, alloc, task, c, b, t = key
    r, p = res[key].get("ras", []), res[key].get("torch", [])
    if not r or not p:
        continue
    name = f"{task} C={c} B={b}"
    unit = lambda s: f"{s:.3f}s" if task == "train" else f"{b / s:.1f}/s"
    rb, rm, pb, pm = min(r), statistics.median(r), min(p), statistics.median(p)
    rr, pr = max(rss.get(key, {}).get("ras", [0])), max(rss.get(key, {}).get("torch", [0]))
    print(f"{state:<6}{alloc:<8}{name:<24}{t:>8}{unit(rb):>11}{unit(rm):>10}{unit(pb):>12}{unit(pm):>11}{pb / rb:>16.2f}"
          f"{pm / rm:>7.2f}{min(len(r), len(p)):>4}{rr:>9.0f}{pr:>10.0f}")
    if show_sections and key in sec:
        for impl in ("ras", "torch"):
            parts = sec[key].get(impl, {})
            print("    " + impl + ": " + ", ".join(f"{n} {statistics.median(v):.3f}s" for n, v in parts.items()))
    machine.append(f"RATIO {case_name(key)} {pb / rb:.3f} {pm / rm:.3f}")
    machine.append(f"RSS {case_name(key)} {rr:.0f} {pr:.0f}")
    if state == "busy":
        idle = ("idle",) + key[1:]
        if idle in res and res[idle].get("ras") and res[idle].get("torch"):
            ri, pi = res[idle]["ras"], res[idle]["torch"]
            machine.append(f"BUSY {case_name(key)} {rb / min(ri):.3f} {rm / statistics.median(ri):.3f} "
                           f"{pb / min(pi):.3f} {pm / statistics.median(pi):.3f}")
print("(inference columns are images/s; train columns seconds per step; ratio = torch time / ras time;")
print(" MB = peak resident set size of the process, the largest over the rounds)")
print()
print("\n".join(machine))
EOF
