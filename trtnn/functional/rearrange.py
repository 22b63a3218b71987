"""Channel/space rearrangements: pixel_shuffle, pixel_unshuffle, channel_shuffle, unflatten (shuffle layers)."""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ..errors import ShapeError
from ..graph.tensor import Tensor
from ._core import _dim, _static
from .shape import permute, reshape


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C*r*r, H, W) -> (*, C, H*r, W*r)."""
    r = int(upscale_factor)
    shp = _static(input, "pixel_shuffle")
    if input.ndim < 3 or r <= 0 or shp[-3] % (r * r):
        raise ShapeError(f"pixel_shuffle: upscale_factor={upscale_factor} needs channels (dim -3) divisible by "
                         f"{r * r}; '{input.name}' has shape {shp}")
    *lead, c, h, w = shp
    b = len(lead)
    x = reshape(input, (*lead, c // (r * r), r, r, h, w))
    x = permute(x, (*range(b), b, b + 3, b + 1, b + 4, b + 2))
    return reshape(x, (*lead, c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H*r, W*r) -> (*, C*r*r, H, W)."""
    r = int(downscale_factor)
    shp = _static(input, "pixel_unshuffle")
    if input.ndim < 3 or r <= 0 or shp[-1] % r or shp[-2] % r:
        raise ShapeError(f"pixel_unshuffle: downscale_factor={downscale_factor} must divide height and width; "
                         f"'{input.name}' has shape {shp}")
    *lead, c, h, w = shp
    b = len(lead)
    x = reshape(input, (*lead, c, h // r, r, w // r, r))
    x = permute(x, (*range(b), b, b + 2, b + 4, b + 1, b + 3))
    return reshape(x, (*lead, c * r * r, h // r, w // r))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """(N, g*k, *) -> channels reordered as (k, g): torch's channel_shuffle."""
    shp = _static(input, "channel_shuffle")
    if input.ndim < 3 or groups <= 0 or shp[1] % groups:
        raise ShapeError(f"channel_shuffle: groups={groups} must divide the channels (dim 1) of '{input.name}' {shp}")
    n, c, *rest = shp
    x = reshape(input, (n, groups, c // groups, *rest))
    return reshape(permute(x, (0, 2, 1, *range(3, x.ndim))), shp)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    """torch.unflatten: dim `dim` split into `sizes` (one of them may be -1)."""
    d = _dim(dim, input.ndim)
    shp = _static(input, "unflatten", [d])
    sizes = [int(s) for s in sizes]
    known = int(np.prod([s for s in sizes if s != -1], dtype=np.int64))
    if sizes.count(-1) > 1 or (sizes.count(-1) == 0 and known != shp[d]) or (known and shp[d] % known):
        raise ShapeError(f"unflatten: sizes {tuple(sizes)} do not multiply to size {shp[d]} of dim {d} of "
                         f"'{input.name}'")
    sizes = [shp[d] // known if s == -1 else s for s in sizes]
    return reshape(input, (*input.shape[:d], *sizes, *input.shape[d + 1:]))
