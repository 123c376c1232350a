#!/usr/bin/python3
"""Trains a small CNN on an IDX image dataset (Fashion-MNIST) with PyTorch and exports it to ONNX:
a teacher of another family than our ViTs, for `learngene distill --teacher teacher.onnx`.

    /usr/bin/python3 scripts/train-cnn-teacher.py --data DIR --out teacher.onnx [--epochs 3]
        [--lr 2e-3] [--batch 64] [--seed 0] [--limit N] [--threads 1]

DIR holds train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz]; when it also holds
t10k-* files, top-1 on them is reported after every epoch (`npm run bench:sws` puts its
validation split there). Needs only torch, numpy and onnx (Debian python3-torch, python3-onnx).

The ONNX model takes NCHW float32 pixels in [0, 1] normalized as (x - 0.5) / 0.5 (what
onnxruntime teachers are fed by default for one channel) with a dynamic batch axis and
returns logits. Beside it, <out>.json records what the training cost: forward multiply-adds
per image counted from the layer shapes, images seen, wall seconds and per-epoch top-1.
Deterministic for a seed (one thread gives bit-identical weights run to run).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# The one normalization the exported model expects of [0, 1] pixels.
MEAN, STD = 0.5, 0.5


def read_idx(path: str) -> np.ndarray:
    """A uint8 IDX array (images N×H×W or labels N), gzipped or not."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise SystemExit(f"{path}: not a uint8 IDX file")
    rank = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(rank)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * rank)
    if data.size != int(np.prod(dims)):
        raise SystemExit(f"{path}: header says {dims}, found {data.size} values")
    return data.reshape(dims)


def find(dir_: str, split: str, kind: str) -> str | None:
    rank = 3 if kind == "images" else 1
    for name in (f"{split}-{kind}-idx{rank}-ubyte", f"{split}-{kind}-idx{rank}-ubyte.gz"):
        path = os.path.join(dir_, name)
        if os.path.exists(path):
            return path
    return None


def load_split(dir_: str, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    images, labels = find(dir_, split, "images"), find(dir_, split, "labels")
    if not images or not labels:
        return None
    x, y = read_idx(images), read_idx(labels)
    if x.shape[0] != y.shape[0]:
        raise SystemExit(f"{images}: {x.shape[0]} images but {labels} has {y.shape[0]} labels")
    return x, y.astype(np.int64)


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 N×H×W → normalized float32 N×1×H×W."""
    return (torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1) - MEAN) / STD


class SmallCNN(nn.Module):
    """conv3×3/2(32)-BN-ReLU → conv3×3/2(64)-BN-ReLU → dropout → linear (strided convolutions
    instead of pooling: several times faster to train in Debian's PyTorch build)."""

    def __init__(self, size: int, classes: int, c1: int = 32, c2: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(1, c1, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c1)
        self.conv2 = nn.Conv2d(c1, c2, 3, stride=2, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c2)
        self.drop = nn.Dropout(0.2)
        self.head = nn.Linear(c2 * (size // 4) ** 2, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))  # [B, c1, H/2, W/2]
        x = F.relu(self.bn2(self.conv2(x)))  # [B, c2, H/4, W/4]
        return self.head(self.drop(torch.flatten(x, 1)))  # [B, classes]


def forward_macs(model: SmallCNN, size: int) -> int:
    """Multiply-adds of one image's forward pass (convolutions and the linear layer), from shapes."""
    half, quarter = size // 2, size // 4
    c1, c2 = model.conv1.out_channels, model.conv2.out_channels
    return half * half * c1 * 1 * 9 + quarter * quarter * c2 * c1 * 9 + model.head.in_features * model.head.out_features


@torch.no_grad()
def top1(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    hits = 0
    for i in range(0, x.shape[0], batch):
        hits += int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum())
    return hits / x.shape[0]


def balanced_subset(labels: np.ndarray, limit: int, rng: np.random.Generator) -> np.ndarray:
    """`limit` indices spread evenly over the classes (seeded)."""
    per_class = [rng.permutation(np.flatnonzero(labels == c)) for c in range(labels.max() + 1)]
    picked: list[int] = []
    for r in range(max(len(p) for p in per_class)):
        for p in per_class:
            if r < len(p) and len(picked) < limit:
                picked.append(int(p[r]))
    return np.sort(np.array(picked))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True, help="the .onnx file to write (and <out>.json beside it)")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--limit", type=int, default=0, help="class-balanced subset of the training images (0: all)")
    # One thread: on a shared 2-core machine PyTorch's OpenMP threads collapse under
    # oversubscription (measured: 5,900 img/s with 1 thread, 670 with 2 at load 2).
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    if not args.out.endswith(".onnx"):
        raise SystemExit(f"--out {args.out}: give a path ending in .onnx")

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    train = load_split(args.data, "train")
    if train is None:
        raise SystemExit(f"{args.data}: no train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz]")
    x_np, y_np = train
    if args.limit:
        keep = balanced_subset(y_np, args.limit, np.random.default_rng(args.seed))
        x_np, y_np = x_np[keep], y_np[keep]
    size, classes = x_np.shape[1], int(y_np.max()) + 1
    if x_np.shape[1] != x_np.shape[2] or size % 4:
        raise SystemExit(f"{args.data}: images are {x_np.shape[1]}×{x_np.shape[2]}; this script wants square images with a side divisible by 4")
    x, y = to_input(x_np), torch.from_numpy(y_np)
    held = load_split(args.data, "t10k")
    xv, yv = (to_input(held[0]), torch.from_numpy(held[1])) if held else (None, None)

    model = SmallCNN(size, classes)
    steps_per_epoch = x.shape[0] // args.batch
    total = args.epochs * steps_per_epoch
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.1, anneal_strategy="cos")
    gen = torch.Generator().manual_seed(args.seed)
    history = []
    started = time.perf_counter()
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        model.train()
        order = torch.randperm(x.shape[0], generator=gen)
        loss_sum = 0.0
        for step in range(steps_per_epoch):
            idx = order[step * args.batch:(step + 1) * args.batch]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += float(loss)
        record = {"epoch": epoch + 1, "trainLoss": loss_sum / steps_per_epoch, "seconds": time.perf_counter() - t0}
        if xv is not None:
            record["heldOutTop1"] = top1(model, xv, yv)
        history.append(record)
        print(json.dumps(record), file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started

    model.eval()
    tmp = args.out + ".tmp"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.onnx.export(
        model, torch.zeros(1, 1, size, size), tmp, input_names=["pixels"], output_names=["logits"],
        dynamic_axes={"pixels": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13,
    )
    os.replace(tmp, args.out)
    macs = forward_macs(model, size)
    summary = {
        "architecture": "SmallCNN: conv3x3 stride 2 (32)-BN-ReLU, conv3x3 stride 2 (64)-BN-ReLU, dropout 0.2, linear",
        "params": sum(p.numel() for p in model.parameters()),
        "input": {"layout": "NCHW", "channels": 1, "size": size, "normalization": {"mean": [MEAN], "std": [STD]}},
        "forwardMacsPerImage": macs,
        # Same convention as shared/flops.ts: a multiply-add is 2 FLOPs, a training step 3× the forward pass.
        "trainFlopsPerImage": 3 * 2 * macs,
        "trainImages": steps_per_epoch * args.batch,
        "epochs": args.epochs,
        "optim": {"name": "AdamW", "lr": args.lr, "weightDecay": 0.05, "batch": args.batch, "schedule": "one-cycle cosine, 10% warm-up"},
        "seed": args.seed,
        "threads": args.threads,
        "torch": torch.__version__,
        "seconds": seconds,
        "history": history,
    }
    with open(args.out + ".json.tmp", "w") as f:
        json.dump(summary, f, indent=1)
        f.write("\n")
    os.replace(args.out + ".json.tmp", args.out + ".json")
    print(json.dumps({"out": args.out, "seconds": round(seconds, 1), "heldOutTop1": history[-1].get("heldOutTop1")}))


if __name__ == "__main__":
    main()
