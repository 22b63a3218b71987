"""Rearranging copies: flip, roll, repeat, tile (one TensorRT slice layer each: negative strides or WRAP mode)."""
from __future__ import annotations

from typing import Optional, Sequence, Union

from ..errors import ShapeError
from ..graph.tensor import Tensor
from . import dims as D
from .core import norm_dim, norm_dims, shape_spec, unsqueeze_front
from .shape import reshape_spec, slice_layer, flatten

Ints = Union[int, Sequence[int]]


def _ints(v: Ints) -> list:
    return [int(v)] if isinstance(v, int) else [int(a) for a in v]


def flip(input: Tensor, dims: Ints) -> Tensor:
    """torch.flip: reverse the order of elements along `dims`."""
    ds = norm_dims(_ints(dims), input.ndim)
    start = [D.sub(D.sym_size(input, d), 1) if d in ds else 0 for d in range(input.ndim)]
    stride = [-1 if d in ds else 1 for d in range(input.ndim)]
    return slice_layer(input, "flip", start, shape_spec(input), stride)


def roll(input: Tensor, shifts: Ints, dims: Optional[Ints] = None) -> Tensor:
    """torch.roll: elements shifted along `dims` wrap around; without dims the flattened tensor is rolled."""
    if dims is None:
        s = _ints(shifts)
        if len(s) != 1:
            raise ShapeError(f"roll: without dims, shifts must be one int, got {tuple(s)}")
        return reshape_spec(roll(flatten(input), s, 0), D.sym_shape(input))
    s, d = _ints(shifts), [norm_dim(a, input.ndim) for a in _ints(dims)]
    if len(s) != len(d):
        raise ShapeError(f"roll: shifts {tuple(s)} and dims {tuple(d)} must have the same length")
    start = [0] * input.ndim
    for shift, a in zip(s, d):
        n = D.sym_size(input, a)
        start[a] = D.mod(D.sub(start[a], shift), n) if not D.is_static(n) or n else 0
    return slice_layer(input, "roll", start, shape_spec(input), [1] * input.ndim, mode="WRAP")


def repeat(input: Tensor, sizes: Sequence[int]) -> Tensor:
    """Tensor.repeat: the tensor tiled sizes[i] times along dim i (leading new dims when sizes is longer)."""
    reps = _ints(sizes)
    if len(reps) < input.ndim:
        raise ShapeError(f"repeat: {len(reps)} repeat counts for tensor '{input.name}' of rank {input.ndim}; "
                         f"need at least {input.ndim}")
    if any(r < 0 for r in reps):
        raise ShapeError(f"repeat: counts must not be negative, got {tuple(reps)}")
    x = unsqueeze_front(input, len(reps) - input.ndim)
    if all(r == 1 for r in reps):
        return x
    out = [v if r == 1 else D.mul(D.sym_size(x, i), r) for i, (v, r) in enumerate(zip(shape_spec(x), reps))]
    return slice_layer(x, "repeat", [0] * x.ndim, out, [1] * x.ndim, mode="WRAP")


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    """torch.tile: repeat, with missing leading counts taken as 1."""
    reps = _ints(dims)
    return repeat(input, [1] * (input.ndim - len(reps)) + reps)
