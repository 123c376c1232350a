#!/usr/bin/env python3
"""Moves a learngene between Learngene Studio and the official SWS code (AlphaXia/SWS).

    # ours → theirs: `learngene export --format sws-reference` writes sws-learngene.safetensors
    python3 scripts/sws_reference.py to-pth exports/learngene-sws/sws-learngene.safetensors learngene.pth
    python3 main.py --model deit_small_patch16_224_L12 --load-gene learngene.pth --layers-source 0,0,0,1,1,1,2,2,3,3,4,4 ...

    # theirs → ours: an Aux-Net checkpoint.pth of that code (its {"model": state_dict})
    python3 scripts/sws_reference.py to-safetensors output/checkpoint.pth aux-net.safetensors
    learngene import aux-net.safetensors --stages 3,3,4,3,3 --heads 6 --out models/learngene

Needs PyTorch only (the safetensors files are read and written by
scripts/fixtures/safetensors_io.py, no `safetensors` package).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402


def to_pth(source: str, target: str) -> None:
    tensors, _ = read_safetensors(source)
    # What the SWS code's main.py --load-gene reads: torch.load(...)["model"].
    torch.save({"model": {name: torch.from_numpy(np.ascontiguousarray(value)) for name, value in tensors.items()}}, target)
    print(f"{target}: {len(tensors)} tensors")


def to_safetensors(source: str, target: str) -> None:
    checkpoint = torch.load(source, map_location="cpu", weights_only=False)
    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else checkpoint
    tensors = {name: value.detach().float().cpu().numpy() for name, value in state.items() if torch.is_tensor(value)}
    write_safetensors(target, tensors, {"format": "pt"})
    print(f"{target}: {len(tensors)} tensors")


def main() -> None:
    if len(sys.argv) != 4 or sys.argv[1] not in ("to-pth", "to-safetensors"):
        sys.exit(__doc__)
    (to_pth if sys.argv[1] == "to-pth" else to_safetensors)(sys.argv[2], sys.argv[3])


if __name__ == "__main__":
    main()
