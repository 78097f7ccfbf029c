# benchmarks/torch_blas.sh — sourced by the side-by-side benchmark scripts. Debian's torch here links
# the reference BLAS (about 1.5 GFLOP/s); for a fair comparison the torch side gets OpenBLAS from the
# apt cache (unpacked into $dir, nothing installed) first on LD_LIBRARY_PATH. Needs $blas (openblas or
# system) and $dir; sets the array torch_env and prints which BLAS torch loaded.
torch_env=()
if [ "$blas" = openblas ]; then
  blas_dir=${RAS_TORCH_BLAS_DIR:-}
  deb=$(ls /var/cache/apt/archives/libopenblas0-pthread_*.deb 2>/dev/null | head -1 || true)
  if [ -z "$blas_dir" ] && [ -n "$deb" ]; then
    [ -d "$dir/openblas" ] || dpkg-deb -x "$deb" "$dir/openblas"
    blas_dir=$dir/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread
  fi
  if [ -n "$blas_dir" ] && [ -e "$blas_dir/libblas.so.3" ]; then
    torch_env=(LD_LIBRARY_PATH="$blas_dir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
  else
    echo "warning: no OpenBLAS found (set RAS_TORCH_BLAS_DIR); PyTorch uses the system BLAS"
  fi
fi
echo "PyTorch BLAS: $(env "${torch_env[@]}" /usr/bin/python3 -c '
import torch
torch.nn.functional.linear(torch.ones(8, 8), torch.ones(8, 8))
print(sorted({l.split()[-1] for l in open("/proc/self/maps") if "blas" in l.lower()}))')"
