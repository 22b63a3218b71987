"""Masking: tril, triu, masked_fill (TensorRT select layers)."""
from __future__ import annotations

from typing import Any

import torch

from ..errors import ShapeError
from ..graph.tensor import Tensor
from . import dims as D
from .core import const_value, cast, constant
from .elementwise import ge, le, sub, where
from .shape import unsqueeze


def _triangle(input: Tensor, diagonal: int, lower: bool, op: str) -> Tensor:
    if input.ndim < 2:
        raise ShapeError(f"{op} needs a tensor of rank >= 2; '{input.name}' has shape {input.shape}")
    h, w = input.shape[-2:]
    if h >= 0 and w >= 0:
        ones = torch.ones(h, w, dtype=torch.bool)
        keep = constant(ones.tril(diagonal) if lower else ones.triu(diagonal), input, torch.bool)
    else:  # the mask from the runtime sizes: column - row against the diagonal
        rows = unsqueeze(D.ramp(D.sym_size(input, -2), input, torch.int32), 1)
        cols = unsqueeze(D.ramp(D.sym_size(input, -1), input, torch.int32), 0)
        offset = sub(cols, rows)
        keep = le(offset, diagonal) if lower else ge(offset, diagonal)
    return where(keep, input, constant(torch.zeros(()), input))


def tril(input: Tensor, diagonal: int = 0) -> Tensor:
    return _triangle(input, int(diagonal), True, "tril")


def triu(input: Tensor, diagonal: int = 0) -> Tensor:
    return _triangle(input, int(diagonal), False, "triu")


def masked_fill(input: Tensor, mask: Any, value: Any) -> Tensor:
    """torch.masked_fill: `value` (a number or 0-D tensor, cast to input's dtype) where the bool mask is True."""
    if isinstance(mask, Tensor):
        if mask.dtype != torch.bool:
            raise ShapeError(f"masked_fill: mask '{mask.name}' must be bool, got {mask.dtype}")
        m = mask
    else:
        v = const_value(mask)
        if v.dtype != torch.bool:
            raise ShapeError(f"masked_fill: mask must be bool, got {v.dtype}")
        m = constant(v, input, torch.bool)
    fill = cast(value, input.dtype) if isinstance(value, Tensor) else constant(const_value(value), input)
    return where(m, fill, input)
