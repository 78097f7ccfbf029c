#!/usr/bin/env bash
# Time per epoch of `ras train` on ../shared/data/mvtec_bottle (209 images, default model, batch 64, 2
# epochs) for one process with 1 and 2 threads and for 1 and 2 MPI ranks with 1 thread each (one rank
# per core), then the gradient sum over 2 ranks alone (bench_mpi_chain). Checks that the four models
# are byte for byte identical. Results: docs/benchmarks.md ("MPI").
#   benchmarks/run_bench_mpi.sh BUILD_DIR [WORK_DIR]     (BUILD_DIR configured with -DRAS_WITH_MPI=ON)
set -euo pipefail
build=$(cd "$1" && pwd); work=${2:-/tmp/ras-bench-mpi}
ras=$build/examples/ras; chain=$build/benchmarks/bench_mpi_chain
root=$(cd "$(dirname "$0")/.." && pwd); shared=$root/../shared
W=$shared/weights/mobilenet_v2_imagenet.safetensors
mkdir -p "$work"; cd "$work"
b=(--data "$shared/data/mvtec_bottle" --weights "$W" --heatmaps 0 --report-heatmaps 0 --cache "$work/cache")
c=("${b[@]}" --epochs 2)
rm -rf p1t1 p1t2 r1t1 r2t1 warm
grep -m1 'model name' /proc/cpuinfo; echo "cores: $(nproc)"
"$ras" train "${b[@]}" --epochs 1 --threads 2 --out warm > warm.log 2>&1   # fills the feature cache
for run in p1t1 p1t2 r2t1 r1t1; do
  echo "$run start $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"
  case $run in
    p1t1) "$ras" train "${c[@]}" --threads 1 --out $run > $run.log 2>&1 ;;
    p1t2) "$ras" train "${c[@]}" --threads 2 --out $run > $run.log 2>&1 ;;
    r2t1) mpirun --allow-run-as-root -np 2 --bind-to core "$ras" train "${c[@]}" --threads 1 --out $run > $run.log 2>&1 ;;
    r1t1) mpirun --allow-run-as-root -np 1 --bind-to core "$ras" train "${c[@]}" --threads 1 --out $run > $run.log 2>&1 ;;
  esac
  echo "$run end $(date +%T) load $(cut -d' ' -f1-3 /proc/loadavg)"; cat $run/train_log.csv
done
for run in p1t2 r2t1 r1t1; do cmp p1t1/model.safetensors $run/model.safetensors && echo "$run model identical to p1t1"; done
params=$(sed -n 's/.*: \([0-9]*\) trainable parameters.*/\1/p' p1t1.log)
if [ -x "$chain" ]; then
  for terms in 4 0; do mpirun --allow-run-as-root -np 2 --bind-to core "$chain" "$params" $terms 10; done
else
  echo "no $chain (configure BUILD_DIR with -DRAS_BUILD_BENCHMARKS=ON): the chain timing is skipped"
fi
