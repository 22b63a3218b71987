"""embedding: rows of a weight table picked by integer indices (a TensorRT gather)."""
from __future__ import annotations

from typing import Any, Optional

import torch

from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from .core import layer_output, const_value, cast


def embedding(input: Tensor, weight: Any, padding_idx: Optional[int] = None, max_norm: Optional[float] = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """torch's embedding at inference: output shape input.shape + (embedding_dim,); padding_idx only matters for
    training. The weight table is a constant in the network's compute dtype."""
    if max_norm is not None:
        raise UnsupportedError(f"embedding max_norm={max_norm}: renormalizing rows is not supported (only None)")
    if input.dtype.is_floating_point or input.dtype == torch.bool:
        raise ShapeError(f"embedding: indices '{input.name}' must be integers, got {input.dtype}")
    w = const_value(weight)
    if w.dim() != 2:
        raise ShapeError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), got {tuple(w.shape)}")
    ctx = input.ctx
    table = ctx.constant(w, ctx.dtype if w.is_floating_point() else w.dtype, op="weight")
    return layer_output(ctx.add("embedding", "add_gather", table.use(), cast(input, torch.int32).use(), 0), ctx)
