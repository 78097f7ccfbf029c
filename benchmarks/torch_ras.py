#!/usr/bin/python3
"""PyTorch half of benchmarks/run_bench_ras.sh (the C++ half is benchmarks/bench_ras.cpp).

Times the RAS reconstruction network of tests/fixtures/make_ras_fixtures.py (sequence-first, with
nn.MultiheadAttention, as the official models/reconstructions/ras.py) on cached (random) features:
  train: forward with jitter + MSE + backward + clip_grad_norm_(0.1) + AdamW(7e-4, wd 1e-4) at batch B
  infer: model.eval() + torch.no_grad(): reconstruction + anomaly map (L2 over channels, 14 -> 224 bilinear,
         align_corners=True as nn.UpsamplingBilinear2d)
  /usr/bin/python3 benchmarks/torch_ras.py --task train|infer [--channels 272] [--batch 64] [--threads 1]
                                           [--iters 1] [--warmup 1] [--sections]
Output lines match bench_ras: "RESULT impl=torch ... seconds=S", "SECTION ... name=N seconds=S" and, at the end,
"MAXRSS impl=torch ... mb=M" (peak resident set size, getrusage ru_maxrss).
"""
import argparse
import os
import resource
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
from make_ras_fixtures import RasReconstruction  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--task", choices=("train", "infer"), default="train")
    p.add_argument("--channels", type=int, default=272)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--iters", type=int, default=1)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--sections", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(333)
    model = RasReconstruction(c_org=a.channels)
    feats = torch.randn(a.batch, a.channels, 14, 14)
    tag = f"impl=torch task={a.task} channels={a.channels} batch={a.batch} threads={a.threads}"

    def section(name, s):
        if a.sections:
            print(f"SECTION {tag} name={name} seconds={s:.6f}")

    if a.task == "train":
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=7e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-4)
        for it in range(a.warmup + a.iters):
            t0 = time.perf_counter()
            opt.zero_grad(set_to_none=True)
            t = time.perf_counter()
            rec = model(feats)
            t_forward = time.perf_counter() - t
            t = time.perf_counter()
            loss = F.mse_loss(rec, feats)
            t_loss = time.perf_counter() - t
            t = time.perf_counter()
            loss.backward()
            t_backward = time.perf_counter() - t
            t = time.perf_counter()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
            t_clip = time.perf_counter() - t
            t = time.perf_counter()
            opt.step()
            t_step = time.perf_counter() - t
            total = time.perf_counter() - t0
            if it < a.warmup:
                continue
            for name, s in (("forward", t_forward), ("loss", t_loss), ("backward", t_backward), ("clip", t_clip),
                            ("step", t_step)):
                section(name, s)
            print(f"RESULT {tag} seconds={total:.6f} loss={loss.item():.5f}", flush=True)
    else:
        model.eval()
        with torch.no_grad():
            for it in range(a.warmup + a.iters):
                t0 = time.perf_counter()
                rec = model(feats)
                t_forward = time.perf_counter() - t0
                t = time.perf_counter()
                grid = torch.sqrt(((rec - feats) ** 2).sum(dim=1, keepdim=True))
                up = F.interpolate(grid, scale_factor=16, mode="bilinear", align_corners=True)
                t_map = time.perf_counter() - t
                total = time.perf_counter() - t0
                if it < a.warmup:
                    continue
                section("forward", t_forward)
                section("map", t_map)
                print(f"RESULT {tag} seconds={total:.6f} images_per_s={a.batch / total:.3f} "
                      f"check={up[0, 0, 112, 112].item():.4f}", flush=True)

    print(f"MAXRSS {tag} mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}", flush=True)


if __name__ == "__main__":
    main()
