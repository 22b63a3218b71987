"""Attention in TensorRT: the IAttention layer (scaled_dot_product_attention / MultiheadAttention with
need_weights=False) against matmul-softmax-matmul (need_weights=True), for a ViT-Tiny-like encoder.

Run: python benchmarks/bench_attention.py
"""
from __future__ import annotations

import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402

import trtnn  # noqa: E402
import trtnn.nn as nn  # noqa: E402
from common import report  # noqa: E402

DIM, HEADS, TOKENS, DEPTH = 192, 3, 197, 4


class Block(trtnn.Module):
    """A pre-norm ViT block; `fused` picks the attention path."""

    def __init__(self, fused: bool) -> None:
        super().__init__()
        self.fused = fused
        self.norm1, self.norm2 = nn.LayerNorm(DIM), nn.LayerNorm(DIM)
        self.attn = nn.MultiheadAttention(DIM, HEADS, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(DIM, 4 * DIM), nn.GELU(), nn.Linear(4 * DIM, DIM))

    def forward(self, x):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=not self.fused)[0]
        return x + self.mlp(self.norm2(x))


class Encoder(trtnn.Module):
    def __init__(self, fused: bool) -> None:
        super().__init__()
        self.blocks = nn.Sequential(*[Block(fused) for _ in range(DEPTH)])

    def forward(self, x):
        return self.blocks(x)


def one(fused: bool, dtype: str, repeat: int = 3):
    defines, builds = [], []
    for _ in range(repeat):
        engine = trtnn.build(Encoder(fused), [trtnn.Input("x", (1, TOKENS, DIM))], dtype=dtype, progress=False)
        defines.append(engine.define_seconds)
        builds.append(engine.build_seconds)
    net = trtnn.define(Encoder(fused), [trtnn.Input("x", (1, TOKENS, DIM))], dtype=dtype)
    kinds = [net.network.get_layer(i).type.name for i in range(net.network.num_layers)]
    return ["IAttention" if fused else "matmul-softmax-matmul", dtype, len(kinds), kinds.count("ATTENTION_INPUT"),
            f"{statistics.median(defines) * 1e3:.0f}", f"{statistics.median(builds) * 1e3:.0f}",
            f"{engine.nbytes / 2**20:.2f}"]


def main() -> None:
    trtnn.backend.get()
    torch.manual_seed(0)
    rows = [one(fused, dt) for dt in ("fp16", "fp32") for fused in (True, False)]
    report("attention", f"Attention paths, ViT-Tiny-like encoder ({DEPTH} blocks, {TOKENS} tokens, dim {DIM}, "
           f"{HEADS} heads; {trtnn.backend.name()} {trtnn.backend.version()})",
           ["attention", "dtype", "TRT layers", "attention layers", "define ms", "builder ms", "plan MiB"], rows,
           notes="The matmul-softmax-matmul rows also hold the (unused) head-averaged weights of need_weights=True. "
                 "Builder = build_serialized_network on the CPU (TensorRT-RTX AOT; kernels are chosen at JIT time "
                 "on the GPU, so plan size and build time say nothing about GPU speed). Medians of 3 runs.")


if __name__ == "__main__":
    main()
