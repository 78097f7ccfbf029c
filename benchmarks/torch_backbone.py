#!/usr/bin/python3
"""PyTorch half of benchmarks/run_bench_backbone.sh (the C++ half is benchmarks/bench_backbone.cpp).

Times backbone + MFCN neck at 224x224, eval mode under torch.inference_mode(), with the models of
tests/fixtures/make_backbone_fixtures.py (imported, not copied):
  b4:           the lukemelas EfficientNet-PyTorch 0.7.1 re-write (Conv2dStaticSamePadding = ZeroPad2d +
                conv, BN eps 1e-3, swish = x * sigmoid(x), SE), synthetic weights (the same values as the
                C++ side), taps = blocks 1, 5, 9, 21
  mobilenet_v2: the TF MobileNetV2 with folded BN (F.pad TF-SAME + conv, relu6) from the shared weights
                (float32 here; the fixture script computes in float64), taps = blocks 0, 2, 5, 12
Both stop after the last tap, as the C++ backbones do; the RAS reference (UniAD's EfficientNet wrapper)
computes the whole network (head included) and discards the rest, so it does more work than timed here.
  /usr/bin/python3 benchmarks/torch_backbone.py --model b4|mobilenet_v2 [--batch 1] [--threads 1]
        [--iters 3] [--warmup 1] [--chunk 0] [--sections]
--images DIR: the end-to-end case instead: the first --batch image files of DIR (sorted by name), one at a
time: PIL decode + bilinear resize to 224, normalisation, backbone + neck, the RAS reconstruction of
tests/fixtures/make_ras_fixtures.py (default configuration, random weights) in eval mode, anomaly map (L2
over channels, 14 -> 224 bilinear, align_corners=True) and image score (max of the 16x16 average pool).
--chunk 0 (default) feeds the whole batch at once, as the reference does; --chunk K runs K images at a time.
Output lines match bench_backbone: "RESULT impl=torch ... seconds=S images_per_s=R", at the end "MAXRSS impl=torch
... mb=M" (peak resident set size) and, with --sections,
"SECTION ... kind=stage|op name=N images=K seconds=S" from op-by-op passes over the batch (>= 8 images).
"""
import argparse
import resource
import collections
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures"))
import make_backbone_fixtures as fx  # noqa: E402


class Timers:
    def __init__(self):
        self.stage = collections.OrderedDict()
        self.op = collections.OrderedDict()

    def __call__(self, stage, op, f, *args):
        t = time.perf_counter()
        y = f(*args)
        s = time.perf_counter() - t
        self.stage[stage] = self.stage.get(stage, 0.0) + s
        self.op[op] = self.op.get(op, 0.0) + s
        return y


def b4_stage_of_blocks():
    width, depth, _, _ = fx.LUKEMELAS_PARAMS["b4"]
    stages = []
    for s, row in enumerate(fx.BASE_BLOCKS):
        stages += [s] * fx.round_repeats(row[0], depth)
    return stages


def b4_taps_timed(model, x, tm):
    """LukemelasEfficientNet.taps / MBConvBlock.forward of the fixture script, op by op."""
    x = tm("stem", "conv_stem", model._conv_stem, x)
    x = tm("stem", "bn", model._bn0, x)
    x = tm("stem", "act", fx.swish, x)
    stage_of = b4_stage_of_blocks()
    out = []
    for idx, b in enumerate(model._blocks):
        s = "stage%d" % stage_of[idx]
        inputs = x
        if b.expand != 1:
            x = tm(s, "conv_expand", b._expand_conv, x)
            x = tm(s, "bn", b._bn0, x)
            x = tm(s, "act", fx.swish, x)
        x = tm(s, "conv_dw%d" % b._depthwise_conv.kernel_size[0], b._depthwise_conv, x)
        x = tm(s, "bn", b._bn1, x)
        x = tm(s, "act", fx.swish, x)

        def se(x):
            g = F.adaptive_avg_pool2d(x, 1)
            g = b._se_expand(fx.swish(b._se_reduce(g)))
            return torch.sigmoid(g) * x
        x = tm(s, "se", se, x)
        x = tm(s, "conv_project", b._project_conv, x)
        x = tm(s, "bn", b._bn2, x)
        if b.stride == 1 and b.cin == b.cout:
            x = tm(s, "add", torch.add, x, inputs)
        if idx in fx.TAPS:
            out.append(x)
        if idx == fx.TAPS[-1]:
            return out


def mobilenet_taps_timed(model, x, tm):
    """TFMobileNetV2.forward of the fixture script, op by op."""
    x = tm("stem", "conv_stem", model.conv, x, "stem", 3, 2)
    x = tm("stem", "act", F.relu6, x)
    stage_of = [0, 1, 1, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6]
    out = []
    for idx, (has_expand, st, res) in enumerate(model.blocks):
        s = "stage%d" % stage_of[idx]
        y = x
        p = "blocks.%d." % idx
        if has_expand:
            y = tm(s, "conv_expand", model.conv, y, p + "expand", 1, 1)
            y = tm(s, "act", F.relu6, y)
        y = tm(s, "conv_dw3", model.conv, y, p + "depthwise", 3, st, y.shape[1])
        y = tm(s, "act", F.relu6, y)
        y = tm(s, "conv_project", model.conv, y, p + "project", 1, 1)
        x = tm(s, "add", torch.add, x, y) if res else y
        if idx in fx.MOBILENET_TAPS:
            out.append(x)
        if idx == fx.MOBILENET_TAPS[-1]:
            return out


def print_max_rss(tag):
    print(f"MAXRSS {tag} mb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}", flush=True)


def end_to_end(a, model, taps, strides):
    import numpy as np
    from PIL import Image
    from make_ras_fixtures import RasReconstruction
    files = sorted(os.path.join(a.images, f) for f in os.listdir(a.images)
                   if os.path.isfile(os.path.join(a.images, f)))[:a.batch]
    if len(files) < a.batch:
        sys.exit(f"torch_backbone.py: {a.images} holds {len(files)} files, --batch asks for {a.batch}")
    if a.model == "b4":  # ImageNet mean/std (RAS's EfficientNet-B4); the TF MobileNetV2 takes [-1, 1]
        mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    else:
        mean, std = torch.full((1, 3, 1, 1), 0.5), torch.full((1, 3, 1, 1), 0.5)
    torch.manual_seed(333)
    ras = None
    tag = f"impl=torch model=e2e-{a.model} batch={a.batch} threads={a.threads}"
    with torch.inference_mode():
        for it in range(a.warmup + a.iters):
            check = 0.0
            t0 = time.perf_counter()
            for f in files:
                img = Image.open(f).convert("RGB").resize((a.size, a.size), Image.BILINEAR)
                x = torch.from_numpy(np.asarray(img, dtype=np.float32)).permute(2, 0, 1).unsqueeze(0) / 255.0
                feats = fx.neck(taps((x - mean) / std), strides)
                if ras is None:
                    ras = RasReconstruction(c_org=feats.shape[1]).eval()
                rec = ras(feats)
                grid = torch.sqrt(((rec - feats) ** 2).sum(dim=1, keepdim=True))
                up = F.interpolate(grid, size=(a.size, a.size), mode="bilinear", align_corners=True)
                check += F.avg_pool2d(up, 16, stride=1).max().item()
            total = time.perf_counter() - t0
            if it < a.warmup:
                continue
            print(f"RESULT {tag} seconds={total:.6f} images_per_s={a.batch / total:.3f} check={check:.5f}", flush=True)
    print_max_rss(tag)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", choices=("b4", "mobilenet_v2"), default="b4")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--iters", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--chunk", type=int, default=0)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--sections", action="store_true")
    p.add_argument("--images", default="")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    strides = [2, 4, 8, 16]
    if a.model == "b4":
        model = fx.LukemelasEfficientNet("b4")
        fx.load_synthetic(model)
        model.eval()
        taps = model.taps
        taps_timed = b4_taps_timed
    else:
        model = fx.TFMobileNetV2(fx.load_safetensors(fx.MOBILENET_PATH))
        model.w = {k: v.float().contiguous() for k, v in model.w.items()}
        taps = model.forward
        taps_timed = mobilenet_taps_timed
    if a.images:
        return end_to_end(a, model, taps, strides)
    x = torch.from_numpy(fx.synthetic_values("fixture.input.224", [a.batch, 3, a.size, a.size], -2.0, 2.0))
    chunk = a.chunk if a.chunk > 0 else a.batch
    tag = f"impl=torch model={a.model} batch={a.batch} threads={a.threads}"

    with torch.inference_mode():
        for it in range(a.warmup + a.iters):
            t0 = time.perf_counter()
            y = torch.cat([fx.neck(taps(x[n0:n0 + chunk]), strides) for n0 in range(0, a.batch, chunk)])
            total = time.perf_counter() - t0
            if it < a.warmup:
                continue
            print(f"RESULT {tag} seconds={total:.6f} images_per_s={a.batch / total:.3f} "
                  f"check={y.reshape(-1)[y.numel() // 2].item():.5f} shape={tuple(y.shape)}", flush=True)
        if a.sections:
            tm = Timers()
            t0 = time.perf_counter()
            passes = -(-8 // a.batch)  # at least 8 images timed
            diff = 0.0
            for _ in range(passes):
                parts = []
                for n0 in range(0, a.batch, chunk):
                    t = taps_timed(model, x[n0:n0 + chunk], tm)
                    parts.append(tm("neck", "neck", fx.neck, t, strides))
                diff = max(diff, (torch.cat(parts) - y).abs().max().item())
            total = time.perf_counter() - t0
            images = passes * a.batch
            for name, s in tm.stage.items():
                print(f"SECTION {tag} kind=stage name={name} images={images} seconds={s:.6f}")
            for name, s in tm.op.items():
                print(f"SECTION {tag} kind=op name={name} images={images} seconds={s:.6f}")
            print(f"SECTION {tag} kind=total name=sectioned images={images} seconds={total:.6f} "
                  f"max_diff_vs_neck={diff:.3g}", flush=True)
    print_max_rss(tag)


if __name__ == "__main__":
    main()
