"""Creation: arange (a constant, or filled in the engine up to a runtime size), zeros_like / ones_like / full_like
(a scalar broadcast to the input's shape, dynamic dims included)."""
from __future__ import annotations

from typing import Any

import torch

from .. import dtypes
from ..errors import UnsupportedError
from ..graph.tensor import Tensor
from . import dims as D
from .core import constant
from .shape import expand_as, reshape


def arange(start: Any, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None) -> Any:
    """torch.arange. On Python numbers: a constant (a torch tensor, which every trtnn op takes as a constant). With
    `end` a runtime size (F.sym_size, a 1-element int64 Tensor) and integer start and step: a trtnn Tensor filled in
    the engine (int64 unless `dtype` is given), e.g. the anchor grid of a feature map of dynamic height/width."""
    if end is None:
        start, end = 0, start
    if isinstance(end, Tensor):
        if isinstance(start, Tensor) or isinstance(step, Tensor) or int(step) != step or int(start) != start \
                or step == 0:
            raise UnsupportedError(f"arange with a runtime end '{end.name}' takes integer start and a nonzero "
                                   f"integer step, got start={start!r}, step={step!r}")
        n = D.maximum(D.ceildiv(D.sub(end, int(start)), int(step)), 0) if step > 0 else \
            D.maximum(D.ceildiv(D.sub(int(start), end), -int(step)), 0)
        dt = torch.int64 if dtype is None else dtypes.to_torch(dtype)
        return D.ramp(n, end, dt, float(start), float(step))
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
