"""Creation: arange (a constant), zeros_like / ones_like / full_like (a scalar broadcast to the input's shape, dynamic
dims included)."""
from __future__ import annotations

from typing import Any

import torch

from .. import dtypes
from ..graph.tensor import Tensor
from ._core import constant
from .shape import expand_as, reshape


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None) -> torch.Tensor:
    """torch.arange on Python numbers: a constant (a torch tensor, which every trtnn op takes as a constant)."""
    if end is None:
        start, end = 0, start
    return torch.arange(start, end, step, dtype=None if dtype is None else dtypes.to_torch(dtype))


def full_like(input: Tensor, fill_value: Any, dtype: Any = None) -> Tensor:
    """A tensor of input's shape (and dtype, unless `dtype` is given) filled with `fill_value`."""
    dt = input.dtype if dtype is None else dtypes.to_torch(dtype)
    scalar = constant(torch.tensor(fill_value), input, dt)
    return expand_as(reshape(scalar, (1,) * input.ndim), input) if input.ndim else scalar


def zeros_like(input: Tensor, dtype: Any = None) -> Tensor:
    return full_like(input, 0, dtype)


def ones_like(input: Tensor, dtype: Any = None) -> Tensor:
    return full_like(input, 1, dtype)
