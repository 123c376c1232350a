#!/usr/bin/python3
"""PyTorch reference for `npm run bench`, written to the same spec as our engine.

timm-style ViT (patch conv, learned pos_embed, pre-norm blocks with fused qkv + bias,
exact GELU, mean pooling + fc_norm, linear head; LayerNorm eps 1e-6), AdamW (torch's,
weight decay 0.05 on matrices only, as timm), global-norm clipping at 1.0, cross-entropy.
The SWS distillation step trains an Aux-Net whose stages share one block each (the same
module object reused, so autograd sums the layers' gradients on it) against a frozen
teacher ViT with soft KD (alpha 1, tau 1, KL batchmean), as engine/train/loss.ts.

    /usr/bin/python3 bench/torch_reference.py --task train|infer|distill [--steps 5] [--warmup 2]

Prints one JSON object: per-step milliseconds, the median, images/s and peak RSS.
Runs on Debian's python3-torch (CPU, OpenBLAS); torch threads = the machine's cores.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=True)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        attn = attn.softmax(dim=-1)
        x = (attn @ v).transpose(1, 2).reshape(B, N, C)
        return self.proj(x)


class Block(nn.Module):
    def __init__(self, dim, heads, mlp_ratio=4.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(round(dim * mlp_ratio))
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))


class ViT(nn.Module):
    """blocks: a list of Block modules; an SWS Aux-Net repeats a stage's module."""

    def __init__(self, image_size, patch, channels, dim, heads, classes, blocks):
        super().__init__()
        self.patch_embed = nn.Conv2d(channels, dim, patch, patch)
        tokens = (image_size // patch) ** 2
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.unique = nn.ModuleList(list(dict.fromkeys(blocks)))  # registers each shared block once
        self.layers = blocks
        self.fc_norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.trunc_normal_(m.weight, std=0.02)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed
        for block in self.layers:
            x = block(x)
        return self.head(self.fc_norm(x.mean(dim=1)))


def vit(depth, dim=192, heads=3, classes=100, image_size=32, patch=4, stages=None):
    if stages:
        blocks = []
        for size in stages:
            shared = Block(dim, heads)
            blocks += [shared] * size
    else:
        blocks = [Block(dim, heads) for _ in range(depth)]
    return ViT(image_size, patch, 3, dim, heads, classes, blocks)


def adamw(model):
    decay = [p for n, p in model.named_parameters() if p.ndim > 1 and "pos_embed" not in n]
    no_decay = [p for n, p in model.named_parameters() if not (p.ndim > 1 and "pos_embed" not in n)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", choices=["train", "infer", "distill"], required=True)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--profile", action="store_true", help="also profile one step per op (torch.profiler), table on stderr")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    images = torch.randn(args.batch, 3, 32, 32)
    labels = torch.arange(args.batch) % 100

    if args.task == "distill":
        model = vit(16, stages=[3, 3, 4, 3, 3])
        teacher = vit(12).eval()
        for p in teacher.parameters():
            p.requires_grad_(False)
    else:
        model = vit(6)
        teacher = None
    optimizer = adamw(model)

    def step():
        if args.task == "infer":
            with torch.inference_mode():
                model(images)
            return
        if teacher is not None:
            with torch.inference_mode():
                soft = teacher(images)
            logits = model(images)
            # alpha 1, tau 1: tau² · KL(softmax(t/tau) || softmax(s/tau)), batchmean
            loss = F.kl_div(F.log_softmax(logits, dim=-1), F.log_softmax(soft, dim=-1), reduction="batchmean", log_target=True)
        else:
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()

    if args.task == "infer":
        model.eval()
    else:
        model.train()
    for _ in range(args.warmup):
        step()
    times = []
    for _ in range(args.steps):
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1000)
    median = statistics.median(times)
    if args.profile:
        # The counterpart of onnxruntime's per-node profile in bench/results/latest.md.
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            step()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15), file=sys.stderr)
    json.dump(
        {
            "task": args.task,
            "engine": "pytorch",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "batch": args.batch,
            "stepMs": [round(t, 2) for t in times],
            "medianMs": round(median, 2),
            "imagesPerSec": round(args.batch / median * 1000, 2),
            "peakRssMb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "params": sum(p.numel() for p in model.parameters()),
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
