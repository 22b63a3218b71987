"""Sampling: grid_sample and deformable convolution (DCNv2) built on it."""
from __future__ import annotations

from typing import Any, Optional

import torch

from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from ._core import IntOrPair, _lift, _out, _pair, _static, _trt, _value, cast
from .conv import conv2d
from .pool import _pool_out
from .shape import cat, permute, reshape


def grid_sample(input: Tensor, grid: Any, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: Optional[bool] = None) -> Tensor:
    """torch.nn.functional.grid_sample for 4-D inputs: grid [N, Ho, Wo, 2] holds (x, y) in [-1, 1]."""
    modes = {"bilinear": "LINEAR", "nearest": "NEAREST", "bicubic": "CUBIC"}
    paddings = {"zeros": "FILL", "border": "CLAMP", "reflection": "REFLECT"}
    if mode not in modes or padding_mode not in paddings:
        raise UnsupportedError(f"grid_sample mode={mode!r}, padding_mode={padding_mode!r}; supported modes "
                               f"{', '.join(modes)} and padding modes {', '.join(paddings)}")
    g = _lift(grid, input)
    if input.ndim != 4 or g.ndim != 4 or g.shape[3] != 2:
        raise ShapeError(f"grid_sample expects a 4-D input and a grid [N, Ho, Wo, 2]; got '{input.name}' "
                         f"{input.shape} and grid {g.shape}")
    if input.shape[0] >= 0 and g.shape[0] >= 0 and input.shape[0] != g.shape[0]:
        raise ShapeError(f"grid_sample: input '{input.name}' batch {input.shape[0]} != grid batch {g.shape[0]}")
    trt = _trt(input)
    layer = input.ctx.add(f"grid_sample_{mode}", "add_grid_sample", input.use(), cast(g, input.dtype).use())
    layer.interpolation_mode = getattr(trt.InterpolationMode, modes[mode])
    layer.sample_mode = getattr(trt.SampleMode, paddings[padding_mode])
    layer.align_corners = bool(align_corners)
    return _out(layer, input.ctx)


def deform_conv2d(input: Tensor, offset: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1,
                  padding: IntOrPair = 0, dilation: IntOrPair = 1, mask: Optional[Tensor] = None) -> Tensor:
    """torchvision.ops.deform_conv2d (DCNv2 when `mask` is given): offset [N, 2*G*kh*kw, Ho, Wo] holds (dy, dx) per
    kernel tap (tap k = i*kw + j) and offset group G; mask [N, G*kh*kw, Ho, Wo]. Samples outside the input are 0.

    Emitted as standard layers: one bilinear grid sample per offset group gathers the kh*kw taps of every output
    position ([N, C*kh*kw, Ho, Wo], sampled in fp32 whatever the compute dtype, so positions stay exact), the mask
    multiplies them, and a 1x1 convolution with the reshaped weight sums them (a following BatchNorm folds into it)."""
    w = _value(weight)
    if w.dim() != 4 or input.ndim != 4 or offset.ndim != 4:
        raise ShapeError(f"deform_conv2d expects 4-D input, offset and weight; got '{input.name}' {input.shape}, "
                         f"offset {offset.shape}, weight {tuple(w.shape)}")
    n_out, c_per_group, kh, kw = w.shape
    b, c, h, wd = _static(input, "deform_conv2d", [1, 2, 3])
    (sh, sw), (ph, pw), (dh, dw) = _pair(stride), _pair(padding), _pair(dilation)
    ho, wo = _pool_out(h, kh, sh, ph, False, dh), _pool_out(wd, kw, sw, pw, False, dw)  # the conv output size
    taps = kh * kw
    groups = c // c_per_group if c_per_group and c % c_per_group == 0 else 0
    offset_groups = offset.shape[1] // (2 * taps) if offset.shape[1] >= 0 else 0
    if not groups or n_out % groups or not offset_groups or offset.shape[1] != 2 * taps * offset_groups \
            or c % offset_groups or tuple(offset.shape[2:]) != (ho, wo):
        raise ShapeError(f"deform_conv2d: input '{input.name}' {input.shape}, weight {tuple(w.shape)} (stride "
                         f"{(sh, sw)}, padding {(ph, pw)}, dilation {(dh, dw)}) need an offset [N, 2*G*{taps}, {ho}, "
                         f"{wo}] with G dividing {c}; got '{offset.name}' {offset.shape}")
    if mask is not None and tuple(mask.shape[1:]) != (offset_groups * taps, ho, wo):
        raise ShapeError(f"deform_conv2d: mask must be [N, {offset_groups * taps}, {ho}, {wo}]; "
                         f"got '{mask.name}' {mask.shape}")
    # Sample positions in input pixels, as grid_sample coordinates with align_corners=False (x = ((g + 1) * W - 1) / 2).
    ky, kx = torch.meshgrid(torch.arange(kh) * dh, torch.arange(kw) * dw, indexing="ij")
    base_y = ky.reshape(taps, 1, 1) + (torch.arange(ho) * sh - ph).reshape(1, ho, 1)
    base_x = kx.reshape(taps, 1, 1) + (torch.arange(wo) * sw - pw).reshape(1, 1, wo)
    base_x, base_y = base_x.expand(taps, ho, wo), base_y.expand(taps, ho, wo)
    base = torch.stack([(2 * base_x + 1) / wd - 1, (2 * base_y + 1) / h - 1], -1)
    scale = torch.tensor([2 / wd, 2 / h], dtype=torch.float32)
    off = reshape(cast(offset, torch.float32), (-1, offset_groups, taps, 2, ho, wo))
    x32 = cast(input, torch.float32)
    cols = []
    for g in range(offset_groups):
        dyx = permute(off[:, g], (0, 1, 3, 4, 2))  # [N, taps, Ho, Wo, (dy, dx)]
        grid = cat([dyx[..., 1:2], dyx[..., 0:1]], -1) * scale + base.float()  # (x, y), normalized
        xg = x32 if offset_groups == 1 else x32[:, g * (c // offset_groups):(g + 1) * (c // offset_groups)]
        cols.append(grid_sample(xg, reshape(grid, (-1, taps * ho, wo, 2)), "bilinear", "zeros", False))
    col = reshape(cat(cols, 1), (-1, c, taps, ho, wo))
    if mask is not None:
        m = reshape(cast(mask, torch.float32), (-1, offset_groups, 1, taps, ho, wo))
        col = reshape(reshape(col, (-1, offset_groups, c // offset_groups, taps, ho, wo)) * m, (-1, c, taps, ho, wo))
    col = cast(reshape(col, (-1, c * taps, ho, wo)), input.dtype)
    return conv2d(col, w.reshape(n_out, c_per_group * taps, 1, 1), bias, groups=groups)
