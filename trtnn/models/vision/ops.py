"""Small tensor helpers every vision head's post-processing uses: fp32 casts, index constants, thresholds given as
numbers or run-time tensors, row masks of EfficientNMS-style outputs and a top-k stable among equal values."""
from __future__ import annotations

from typing import Any, Sequence, Tuple, Union

import torch

from ... import functional as F
from ...graph.tensor import Tensor

Threshold = Union[float, Tensor]


def f32(x: Tensor) -> Tensor:
    """x cast to float32."""
    return F.cast(x, torch.float32)


def arange(n: Any, like: Tensor, shape: Sequence[int]) -> Tensor:
    """0, 1, ..., n - 1 in float32 reshaped to `shape` (-1 for n), in `like`'s network: a constant, or filled in the
    engine when n is a runtime size (F.sym_size)."""
    if isinstance(n, Tensor):
        return F.arange(n, dtype=torch.float32).reshape(tuple(shape))
    return F.constant(torch.arange(n, dtype=torch.float32).reshape(tuple(shape)), like, torch.float32)


def input_hw(x: Tensor, axes: Tuple[int, int] = (2, 3)) -> Tuple[Any, Any]:
    """(h, w) of the network input x (dims `axes`: NCHW by default): ints, or [1, 1] int32 runtime sizes where they
    are dynamic."""
    return tuple(v if isinstance(v, int) else F.cast(v, torch.int32).reshape(1, 1)
                 for v in (F.sym_size(x, axes[0]), F.sym_size(x, axes[1])))


def threshold(t: Threshold) -> Threshold:
    """A threshold as fp32 tensor (a run-time input) or Python float (a build-time constant)."""
    return f32(t) if isinstance(t, Tensor) else float(t)


def row_mask(num_dets: Tensor, rows: int) -> Tensor:
    """[B, rows] bool: row r < num_dets (num_dets [B, 1])."""
    return arange(rows, num_dets, (1, rows)) < f32(num_dets)


def stable_topk(x: Tensor, k: int) -> Tensor:
    """Indices [B, k] of the k largest of x [B, N], ordered by (value desc, index asc) whatever TopK does with ties."""
    n = F.sym_size(x, 1)
    idx = arange(n, x, (1, -1))
    sel = None
    if isinstance(n, Tensor) or k < n:  # the exact set: all values above the k-th, then the lowest indices equal
        kth = F.topk(x, k).values[:, k - 1:k]  # to it (unique keys)
        nf = f32(n).reshape(1, 1) if isinstance(n, Tensor) else n
        key = F.where(x > kth, 2 * nf - idx, F.where(F.eq(x, kth), nf - idx, -1.0))
        sel = F.topk(key, k).indices
        x, idx = F.gather(x, 1, sel), F.gather(F.expand_as(idx, x), 1, sel)
    xi, xj, ii, ij = x.unsqueeze(2), x.unsqueeze(1), idx.unsqueeze(2), idx.unsqueeze(1)
    ahead = (xj > xi) | (F.eq(xj, xi) & (ij < ii))  # [B, i, j]: j comes before i
    rank = F.sum(f32(ahead), -1)
    order = F.topk(rank, k, largest=False).indices
    return order if sel is None else F.gather(sel, 1, order)
