#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (.pth / .pth.tar / .pt) to safetensors for ras.

Handles:
  * a plain state dict of a backbone: lukemelas EfficientNet-PyTorch (efficientnet-b4-6ed6700e.pth,
    keys _conv_stem..., load with --backbone efficientnet_b4) or torchvision's efficientnet_b4
    (keys features.*, load with --backbone efficientnet_b4_torchvision);
  * an official RAS / UniAD training checkpoint ({"state_dict": {...}} with a "module." prefix from
    DistributedDataParallel): the prefix is dropped, giving "backbone.*" and "reconstruction.*" keys,
    which `ras score --model FILE --backbone efficientnet_b4` loads unchanged.
Everything is stored as float32 except integer buffers (num_batches_tracked stays int64).

usage: /usr/bin/python3 tools/convert_checkpoint.py IN.pth OUT.safetensors [--strip-prefix module.]
       [--only-prefix backbone.] [--half]
Needs torch (Debian: python3-torch)."""
import argparse
import json
import os
import struct
import sys

import torch

DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        data = t.numpy().tobytes() if t.dtype != torch.bfloat16 else t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    header["__metadata__"] = metadata
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--strip-prefix", default="module.", help="prefix removed from every key that has it")
    p.add_argument("--only-prefix", default="", help="keep only keys starting with this (after stripping)")
    p.add_argument("--half", action="store_true", help="store floating tensors as float16")
    a = p.parse_args()
    ckpt = torch.load(a.input, map_location="cpu")
    if isinstance(ckpt, dict) and "state_dict" in ckpt and isinstance(ckpt["state_dict"], dict):
        sd = ckpt["state_dict"]
    elif isinstance(ckpt, dict) and "model" in ckpt and isinstance(ckpt["model"], dict):
        sd = ckpt["model"]
    elif isinstance(ckpt, dict):
        sd = ckpt
    else:
        sys.exit(f"{a.input}: not a state dict or a checkpoint holding one (got {type(ckpt).__name__})")
    out = {}
    for k, v in sd.items():
        if not torch.is_tensor(v):
            continue
        if a.strip_prefix and k.startswith(a.strip_prefix):
            k = k[len(a.strip_prefix):]
        if a.only_prefix and not k.startswith(a.only_prefix):
            continue
        if v.is_floating_point():
            v = v.to(torch.float16 if a.half else torch.float32)
        out[k] = v
    if not out:
        sys.exit(f"{a.input}: no tensors left to write")
    write_safetensors(a.output, out, {"format": "pt", "source": os.path.basename(a.input)})
    print(f"wrote {a.output}: {len(out)} tensors")


if __name__ == "__main__":
    main()
