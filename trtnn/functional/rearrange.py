"""Channel/space rearrangements: pixel_shuffle, pixel_unshuffle, channel_shuffle, unflatten (shuffle layers)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ShapeError
from ..graph.tensor import Tensor
from . import dims as D
from .core import norm_dim, shape_spec
from .shape import reshape_spec, permute


def _check_channels(op: str, input: Tensor, need: int, what: str) -> int:
    """The channel count (dim -3) of `input`, static and a multiple of `need`."""
    c = input.shape[-3] if input.ndim >= 3 else -1
    if input.ndim < 3 or need <= 0 or (c >= 0 and c % need):
        raise ShapeError(f"{op}: {what}; '{input.name}' has shape {input.shape}")
    return c


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r); every dim may be dynamic."""
    r = int(upscale_factor)
    _check_channels("pixel_shuffle", input, r * r, f"upscale_factor={upscale_factor} needs channels (dim -3) "
                                                   f"divisible by {r * r}")
    *lead, c, h, w = D.sym_shape(input)
    b = len(lead)
    x = reshape_spec(input, [*lead, D.floordiv(c, r * r), r, r, h, w])
    x = permute(x, (*range(b), b, b + 3, b + 1, b + 4, b + 2))
    return reshape_spec(x, [*lead, D.floordiv(c, r * r), D.mul(h, r), D.mul(w, r)])


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W); every dim may be dynamic (the engine checks that r divides H and W)."""
    r = int(downscale_factor)
    shp = input.shape
    if input.ndim < 3 or r <= 0 or (shp[-1] >= 0 and shp[-1] % r) or (shp[-2] >= 0 and shp[-2] % r):
        raise ShapeError(f"pixel_unshuffle: downscale_factor={downscale_factor} must divide height and width; "
                         f"'{input.name}' has shape {shp}")
    *lead, c, h, w = D.sym_shape(input)
    b = len(lead)
    x = reshape_spec(input, [*lead, c, D.floordiv(h, r), r, D.floordiv(w, r), r])
    x = permute(x, (*range(b), b, b + 2, b + 4, b + 1, b + 3))
    return reshape_spec(x, [*lead, D.mul(c, r * r), D.floordiv(h, r), D.floordiv(w, r)])


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g*k, *) -> channels reordered as (k, g): torch's channel_shuffle; every dim may be dynamic."""
    shp = input.shape
    if input.ndim < 3 or groups <= 0 or (shp[1] >= 0 and shp[1] % groups):
        raise ShapeError(f"channel_shuffle: groups={groups} must divide the channels (dim 1) of '{input.name}' {shp}")
    n, c, *rest = D.sym_shape(input)
    x = reshape_spec(input, [n, groups, D.floordiv(c, groups), *rest])
    return reshape_spec(permute(x, (0, 2, 1, *range(3, x.ndim))), [n, c, *rest])


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """torch.unflatten: dim `dim` split into `sizes` (one of them may be -1; on a dynamic dim the engine infers it)."""
    d = norm_dim(dim, input.ndim)
    n = input.shape[d]
    sizes = [int(s) for s in sizes]
    known = int(np.prod([s for s in sizes if s != -1], dtype=np.int64))
    if sizes.count(-1) > 1 or (n >= 0 and ((sizes.count(-1) == 0 and known != n) or (known and n % known))):
        raise ShapeError(f"unflatten: sizes {tuple(sizes)} do not multiply to size {n} of dim {d} of "
                         f"'{input.name}'")
    whole = D.sym_size(input, d)
    sizes = [D.floordiv(whole, known) if s == -1 else s for s in sizes]
    spec = shape_spec(input)
    return reshape_spec(input, spec[:d] + sizes + spec[d + 1:])

