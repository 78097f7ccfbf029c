#!/usr/bin/env bash
# Frozen backbone + MFCN neck at 224x224, C++ (benchmarks/bench_backbone.cpp) against PyTorch
# (benchmarks/torch_backbone.py, Debian's /usr/bin/python3), side by side: for every thread count and case,
# N rounds, each round one process per side, the order alternating between rounds so both sides see the
# same machine load. Both sides stop after the last tap (the RAS reference computes the whole network).
#   benchmarks/run_bench_backbone.sh [-n ROUNDS] [-t "1 2"] [-m "b4 mobilenet_v2 e2e-mobilenet_v2 e2e-b4"]
#                                    [-B "1 16"] [-E 8] [-I DIR] [-s]
#     -n  rounds per case (default 3)          -t  thread counts (OMP_NUM_THREADS / torch.set_num_threads)
#     -m  models: b4 (lukemelas EfficientNet-B4, synthetic weights), mobilenet_v2 (shared TF weights);
#         e2e-mobilenet_v2, e2e-b4: the end-to-end case, image file -> score (decode, resize, normalise,
#         backbone + neck, RAS reconstruction with random weights, anomaly map, image score), one image at
#         a time, the first -E images (default 8) of -I DIR (default ../shared/data/mvtec_bottle/test/
#         broken_large); PyTorch decodes with PIL. The -B batch sizes do not apply to them.
#     -B  batch sizes (default "1 16")         -s  also print the per-section timings (medians, ms/image)
#     -k  torch images per forward pass (default 0: the whole batch, as the reference)
#     -c  ras images per forward pass, Backbone::chunk_size (default 1, the library default: image by
#         image; with 2 threads and batch 16, 4 was 2x faster here: the ops then split over images)
#     -a  glibc malloc settings, both sides alike: "tuned" (default: GLIBC_TUNABLES with mmap and trim
#         thresholds of 4 GiB / 64 GiB, so freed blocks are reused instead of returned to the kernel;
#         PyTorch's CPU allocator does not cache, ras's Cpu allocator caches large blocks itself and does
#         not need it), "default" (glibc's defaults), or both: -a "tuned default"
#     -w  OpenMP wait policy, both sides alike: "passive" (default: OMP_WAIT_POLICY=passive, idle
#         OpenMP threads sleep at once) or "default" (libgomp's: spin ~300k rounds, then sleep), or both:
#         -w "passive default". On the 2-vCPU VM this was written on, the spinning made every 2-thread
#         run 2-10x slower on both sides (ras 0.30 s instead of 0.04 s for a B4 image), 1 thread unaffected.
#     -b  BLAS for PyTorch: "openblas" (default: a libblas.so.3 from OpenBLAS put first on
#         LD_LIBRARY_PATH for the torch processes only, $RAS_TORCH_BLAS_DIR or extracted from the
#         apt cache's libopenblas0-pthread .deb) or "system" (Debian's libblas.so.3 alternative,
#         which is netlib's reference BLAS on some machines; convolutions go through oneDNN either way)
# Prints best-of and median images/s per side and the ratio torch time / ras time (> 1: C++ faster),
# the peak RSS per side,
# plus the machine load: "other" = CPU cores busy with other processes during the runs of the case
# (from /proc/stat minus the benchmark's own user + system time; median and max). The raw lines go
# to $RAS_BENCH_DIR/bench_backbone.log (default /tmp/ras-bench). Ends with machine-readable lines, one
# per case (names like backbone-b4-b16-t1, e2e-mobilenet_v2-b8-t1; "-default"/"-spin" appended for the
# non-default malloc/wait settings):
#   RATIO <case> <torch-over-ras best-of-N> <median>
#   RSS <case> <ras peak MB> <torch peak MB>        (largest ru_maxrss over the rounds)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 threads="1 2" models="b4 mobilenet_v2 e2e-mobilenet_v2 e2e-b4" batches="1 16" sections=0 blas=openblas
allocs=tuned chunk=0 waits=passive ras_chunk=1 e2e_images=8 image_dir=
while getopts "n:t:m:B:sk:c:b:a:w:E:I:" opt; do
  case $opt in
    n) rounds=$OPTARG ;;
    t) threads=$OPTARG ;;
    m) models=$OPTARG ;;
    B) batches=$OPTARG ;;
    s) sections=1 ;;
    k) chunk=$OPTARG ;;
    c) ras_chunk=$OPTARG ;;
    b) blas=$OPTARG ;;
    a) allocs=$OPTARG ;;
    w) waits=$OPTARG ;;
    E) e2e_images=$OPTARG ;;
    I) image_dir=$OPTARG ;;
    *) sed -n 2,40p "$0"; exit 2 ;;
  esac
done
dir=${RAS_BENCH_DIR:-/tmp/ras-bench}
mkdir -p "$dir"
export RAS_SHARED_DIR=${RAS_SHARED_DIR:-$PWD/../shared}
weights=$RAS_SHARED_DIR/weights/mobilenet_v2_imagenet.safetensors
image_dir=${image_dir:-$RAS_SHARED_DIR/data/mvtec_bottle/test/broken_large}
exe=$dir/bench_backbone
log=$dir/bench_backbone.log
if [ ! -x "$exe" ] || [ benchmarks/bench_backbone.cpp -nt "$exe" ] || [ -n "$(find include -newer "$exe" -name '*.hpp' | head -1)" ]; then
  echo "building $exe (-O3 -march=native -fopenmp)"
  g++ -std=c++20 -O3 -DNDEBUG -march=native -fopenmp -Iinclude -isystem /usr/include/eigen3 \
    -DRAS_SHARED_DIR="\"$RAS_SHARED_DIR\"" benchmarks/bench_backbone.cpp -o "$exe" -lpng -ljpeg
fi
: >"$log"
source benchmarks/torch_blas.sh  # (cwd is the repository root here)

tuned_malloc=glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=68719476736
hz=$(getconf CLK_TCK)
busy_jiffies() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }
side() {  # alloc side threads args... (wait policy $w)
  local alloc=$1 s=$2 t=$3; shift 3
  local common=(-u OMP_WAIT_POLICY GLIBC_TUNABLES=)  # env options first, then assignments
  [ "$alloc" = tuned ] && common+=("GLIBC_TUNABLES=$tuned_malloc")
  [ "$w" = passive ] && common+=(OMP_WAIT_POLICY=passive)
  if [ "$s" = ras ]; then
    env "${common[@]}" OMP_NUM_THREADS="$t" "$exe" --threads "$t" --chunk "$ras_chunk" --weights "$weights" "$@"
  else
    env "${common[@]}" "${torch_env[@]}" OMP_NUM_THREADS="$t" MKL_NUM_THREADS="$t" OPENBLAS_NUM_THREADS="$t" \
      /usr/bin/python3 benchmarks/torch_backbone.py --threads "$t" --chunk "$chunk" "$@"
  fi
}
run() {  # alloc side threads args... (model $m, batch $b): one process, its output tagged and logged with the machine load
  local alloc=$1 s=$2 t=$3 b0 b1 times
  shift 3
  local sect=()
  [ "$sections" = 1 ] && sect=(--sections)
  b0=$(busy_jiffies)
  # bash's `time` (to the captured stdout) = wall, user, system of the whole process; its stderr stays
  times=$( { TIMEFORMAT='%R %U %S'; time side "$alloc" "$s" "$t" "$@" "${sect[@]}" 2>&3 \
             | sed "s/^\(RESULT\|SECTION\|MAXRSS\) /\1 alloc=$alloc wait=$w /" >>"$log"; } 3>&2 2>&1 )
  b1=$(busy_jiffies)
  read -r wall user sys <<<"$times"
  echo "LOAD alloc=$alloc wait=$w side=$s threads=$t model=$m batch=$b loadavg=$(cut -d' ' -f1 /proc/loadavg) wall=$wall own_cpu=$(
    awk -v u="$user" -v s="$sys" 'BEGIN{print u + s}') other_cores=$(
    awk -v b="$((b1 - b0))" -v hz="$hz" -v u="$user" -v s="$sys" -v w="$wall" 'BEGIN{o = (b / hz - u - s) / w; print (o < 0 ? 0 : o)}')" >>"$log"
}

for w in $waits; do
for alloc in $allocs; do
  for t in $threads; do
    for m in $models; do
      bs=$batches
      [[ $m == e2e-* ]] && bs=$e2e_images
      for b in $bs; do
        if [[ $m == e2e-* ]]; then cs="--model ${m#e2e-} --images $image_dir --batch $b --iters 2 --warmup 1"
        elif [ "$b" -le 2 ]; then cs="--model $m --batch $b --iters 8 --warmup 2"
        else cs="--model $m --batch $b --iters 3 --warmup 1"; fi
        echo "malloc $alloc, wait $w, threads $t: $cs ($rounds rounds)"
        for ((r = 1; r <= rounds; ++r)); do
          # shellcheck disable=SC2086
          if ((r % 2)); then run $alloc ras $t $cs; run $alloc torch $t $cs
          else run $alloc torch $t $cs; run $alloc ras $t $cs; fi
        done
      done
    done
  done
done
done

/usr/bin/python3 - "$log" "$sections" <<'EOF'
import re, statistics, sys
log, show_sections = sys.argv[1], sys.argv[2] == "1"
res, sec, load, rss = {}, {}, {}, {}
for line in open(log):
    kv = dict(re.findall(r"(\w+)=(\S+)", line))
    if not line.startswith(("RESULT", "SECTION", "LOAD", "MAXRSS")):
        continue
    key = (kv["alloc"] + "/" + kv["wait"], kv["model"], int(kv["batch"]), int(kv["threads"]))
    if line.startswith("RESULT"):
        res.setdefault(key, {}).setdefault(kv["impl"], []).append(float(kv["seconds"]))
    elif line.startswith("MAXRSS"):
        rss.setdefault(key, {}).setdefault(kv["impl"], []).append(float(kv["mb"]))
    elif line.startswith("LOAD"):
        load.setdefault(key, []).append((float(kv["other_cores"]), float(kv["loadavg"])))
    elif kv["kind"] != "total":
        sec.setdefault(key, {}).setdefault(kv["impl"], {}).setdefault((kv["kind"], kv["name"]), []).append(
            float(kv["seconds"]) / int(kv["images"]))
print(f"\n{'malloc/wait':<15}{'model':<18}{'batch':>6}{'threads':>8}{'ras best':>10}{'ras med':>9}{'torch best':>11}"
      f"{'torch med':>10}{'torch/ras best':>15}{'med':>6}{'  n':>4}{'ras MB':>8}{'torch MB':>9}   other cores med/max, loadavg")
machine = []
for key in sorted(res, key=lambda k: (k[0], k[3], k[1], k[2])):
    alloc, model, b, t = key
    r, p = res[key].get("ras", []), res[key].get("torch", [])
    if not r or not p:
        continue
    rb, rm, pb, pm = min(r), statistics.median(r), min(p), statistics.median(p)
    unit = lambda s: f"{b / s:.1f}/s"
    oth = [o for o, _ in load.get(key, [])] or [0.0]
    la = [l for _, l in load.get(key, [])] or [0.0]
    rr, pr = max(rss.get(key, {}).get("ras", [0])), max(rss.get(key, {}).get("torch", [0]))
    print(f"{alloc:<15}{model:<18}{b:>6}{t:>8}{unit(rb):>10}{unit(rm):>9}{unit(pb):>11}{unit(pm):>10}"
          f"{pb / rb:>15.2f}{pm / rm:>6.2f}{min(len(r), len(p)):>4}{rr:>8.0f}{pr:>9.0f}   "
          f"{statistics.median(oth):.2f}/{max(oth):.2f}, {min(la):.2f}-{max(la):.2f}")
    name = (model if model.startswith("e2e-") else "backbone-" + model) + f"-b{b}-t{t}"
    a_, w_ = alloc.split("/")
    name += ("" if a_ == "tuned" else "-" + a_) + ("" if w_ == "passive" else "-spin")
    machine.append(f"RATIO {name} {pb / rb:.3f} {pm / rm:.3f}")
    machine.append(f"RSS {name} {rr:.0f} {pr:.0f}")
    if show_sections and key in sec:
        for kind in ("stage", "op"):
            for impl in ("ras", "torch"):
                parts = sec[key].get(impl, {})
                print(f"    {impl:<5} {kind:<5} ms/img: " + ", ".join(
                    f"{n} {1e3 * statistics.median(v):.1f}" for (k, n), v in parts.items() if k == kind))
print("(columns: images/s, best-of and median over all timed iterations; ratio = torch time / ras time, > 1: C++ "
      "faster; MB: peak resident set size, the largest over the rounds; sections: op-by-op passes over >= 8 images "
      "per process, median over processes, ms per image)")
print()
print("\n".join(machine))
EOF
