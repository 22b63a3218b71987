"""Sampling: grid_sample and deformable convolution (DCNv2) built on it."""
from __future__ import annotations

from typing import Any, Optional

import torch

from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from . import dims as D
from .core import IntOrPair, lift, layer_output, as_tuple, trt_of, const_value, cast
from .conv import conv2d
from .pool import pool_out_size
from .shape import reshape_spec, cat, permute, unsqueeze


def grid_sample(input: Tensor, grid: Any, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: Optional[bool] = None) -> Tensor:
    """torch.nn.functional.grid_sample for 4-D inputs: grid [N, Ho, Wo, 2] holds (x, y) in [-1, 1]."""
    modes = {"bilinear": "LINEAR", "nearest": "NEAREST", "bicubic": "CUBIC"}
    paddings = {"zeros": "FILL", "border": "CLAMP", "reflection": "REFLECT"}
    if mode not in modes or padding_mode not in paddings:
        raise UnsupportedError(f"grid_sample mode={mode!r}, padding_mode={padding_mode!r}; supported modes "
                               f"{', '.join(modes)} and padding modes {', '.join(paddings)}")
    g = lift(grid, input)
    if input.ndim != 4 or g.ndim != 4 or g.shape[3] != 2:
        raise ShapeError(f"grid_sample expects a 4-D input and a grid [N, Ho, Wo, 2]; got '{input.name}' "
                         f"{input.shape} and grid {g.shape}")
    if input.shape[0] >= 0 and g.shape[0] >= 0 and input.shape[0] != g.shape[0]:
        raise ShapeError(f"grid_sample: input '{input.name}' batch {input.shape[0]} != grid batch {g.shape[0]}")
    trt = trt_of(input)
    layer = input.ctx.add(f"grid_sample_{mode}", "add_grid_sample", input.use(), cast(g, input.dtype).use())
    layer.interpolation_mode = getattr(trt.InterpolationMode, modes[mode])
    layer.sample_mode = getattr(trt.SampleMode, paddings[padding_mode])
    layer.align_corners = bool(align_corners)
    return layer_output(layer, input.ctx)


def deform_conv2d(input: Tensor, offset: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1,
                  padding: IntOrPair = 0, dilation: IntOrPair = 1, mask: Optional[Tensor] = None) -> Tensor:
    """torchvision.ops.deform_conv2d (DCNv2 when `mask` is given): offset [N, 2*G*kh*kw, Ho, Wo] holds (dy, dx) per
    kernel tap (tap k = i*kw + j) and offset group G; mask [N, G*kh*kw, Ho, Wo]. Samples outside the input are 0.

    Emitted as standard layers: one bilinear grid sample per offset group gathers the kh*kw taps of every output
    position ([N, C*kh*kw, Ho, Wo], sampled in fp32 whatever the compute dtype, so positions stay exact), the mask
    multiplies them, and a 1x1 convolution with the reshaped weight sums them (a following BatchNorm folds into it)."""
    w = const_value(weight)
    if w.dim() != 4 or input.ndim != 4 or offset.ndim != 4:
        raise ShapeError(f"deform_conv2d expects 4-D input, offset and weight; got '{input.name}' {input.shape}, "
                         f"offset {offset.shape}, weight {tuple(w.shape)}")
    n_out, c_per_group, kh, kw = w.shape
    c = input.shape[1]
    if c < 0:
        raise UnsupportedError(f"deform_conv2d needs a static channel dim (dim 1) of '{input.name}' {input.shape}: the "
                               f"weight's shape depends on it")
    (sh, sw), (ph, pw), (dh, dw) = as_tuple(stride), as_tuple(padding), as_tuple(dilation)
    h, wd = input.shape[2:]
    ho = pool_out_size(h, kh, sh, ph, False, dh) if h >= 0 else -1  # the conv output size
    wo = pool_out_size(wd, kw, sw, pw, False, dw) if wd >= 0 else -1
    taps = kh * kw
    groups = c // c_per_group if c_per_group and c % c_per_group == 0 else 0
    offset_groups = offset.shape[1] // (2 * taps) if offset.shape[1] >= 0 else 0
    fits = all(a == b for a, b in zip(offset.shape[2:], (ho, wo)) if a >= 0 and b >= 0)
    if not groups or n_out % groups or not offset_groups or offset.shape[1] != 2 * taps * offset_groups \
            or c % offset_groups or not fits:
        raise ShapeError(f"deform_conv2d: input '{input.name}' {input.shape}, weight {tuple(w.shape)} (stride "
                         f"{(sh, sw)}, padding {(ph, pw)}, dilation {(dh, dw)}) need an offset [N, 2*G*{taps}, {ho}, "
                         f"{wo}] with G dividing {c}; got '{offset.name}' {offset.shape}")
    if mask is not None and mask.shape[1] != offset_groups * taps or mask is not None and not all(
            a == b for a, b in zip(mask.shape[2:], (ho, wo)) if a >= 0 and b >= 0):
        raise ShapeError(f"deform_conv2d: mask must be [N, {offset_groups * taps}, {ho}, {wo}]; "
                         f"got '{mask.name}' {mask.shape}")
    if min(h, wd, ho, wo) >= 0:
        grid_of = _static_grid(kh, kw, (sh, sw), (ph, pw), (dh, dw), h, wd, ho, wo)
    else:
        grid_of = _runtime_grid(input, offset, kh, kw, (sh, sw), (ph, pw), (dh, dw))
    ho, wo = (D.sym_size(offset, 2), D.sym_size(offset, 3)) if min(ho, wo) < 0 else (ho, wo)
    off = reshape_spec(cast(offset, torch.float32), [-1, offset_groups, taps, 2, ho, wo])
    x32 = cast(input, torch.float32)
    cols = []
    for g in range(offset_groups):
        dyx = permute(off[:, g], (0, 1, 3, 4, 2))  # [N, taps, Ho, Wo, (dy, dx)]
        grid = grid_of(cat([dyx[..., 1:2], dyx[..., 0:1]], -1))  # (x, y), normalized
        xg = x32 if offset_groups == 1 else x32[:, g * (c // offset_groups):(g + 1) * (c // offset_groups)]
        cols.append(grid_sample(xg, reshape_spec(grid, [-1, D.mul(ho, taps), wo, 2]), "bilinear", "zeros", False))
    col = reshape_spec(cat(cols, 1), [-1, c, taps, ho, wo])
    if mask is not None:
        m = reshape_spec(cast(mask, torch.float32), [-1, offset_groups, 1, taps, ho, wo])
        col = reshape_spec(reshape_spec(col, [-1, offset_groups, c // offset_groups, taps, ho, wo]) * m, [-1, c, taps, ho, wo])
    col = cast(reshape_spec(col, [-1, c * taps, ho, wo]), input.dtype)
    return conv2d(col, w.reshape(n_out, c_per_group * taps, 1, 1), bias, groups=groups)


def _static_grid(kh: int, kw: int, stride, padding, dilation, h: int, wd: int, ho: int, wo: int):
    """(dx, dy) offsets [N, taps, Ho, Wo, 2] -> grid_sample coordinates (align_corners=False: x = ((g + 1) W - 1) / 2),
    the base positions a constant."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    taps = kh * kw
    ky, kx = torch.meshgrid(torch.arange(kh) * dh, torch.arange(kw) * dw, indexing="ij")
    base_y = ky.reshape(taps, 1, 1) + (torch.arange(ho) * sh - ph).reshape(1, ho, 1)
    base_x = kx.reshape(taps, 1, 1) + (torch.arange(wo) * sw - pw).reshape(1, 1, wo)
    base_x, base_y = base_x.expand(taps, ho, wo), base_y.expand(taps, ho, wo)
    base = torch.stack([(2 * base_x + 1) / wd - 1, (2 * base_y + 1) / h - 1], -1).float()
    scale = torch.tensor([2 / wd, 2 / h], dtype=torch.float32)
    return lambda dxy: dxy * scale + base


def _runtime_grid(input: Tensor, offset: Tensor, kh: int, kw: int, stride, padding, dilation):
    """_static_grid's arithmetic on the runtime sizes (input H, W and offset Ho, Wo), in fp32 like it."""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    taps = kh * kw
    ky, kx = torch.meshgrid(torch.arange(kh) * dh, torch.arange(kw) * dw, indexing="ij")
    f32 = torch.float32
    h, wd = (cast(D.sym_size(input, i), f32) for i in (2, 3))
    rows = reshape_spec(D.ramp(D.sym_size(offset, 2), input, f32, float(-ph), float(sh)), [1, -1, 1])
    cols = reshape_spec(D.ramp(D.sym_size(offset, 3), input, f32, float(-pw), float(sw)), [1, 1, -1])
    base_y = ky.reshape(taps, 1, 1).float() + rows  # [taps, Ho, 1]
    base_x = kx.reshape(taps, 1, 1).float() + cols  # [taps, 1, Wo]
    gx, gy = (2 * base_x + 1) / wd - 1, (2 * base_y + 1) / h - 1
    sx, sy = 2 / wd, 2 / h

    def grid(dxy: Tensor) -> Tensor:
        return cat([dxy[..., 0:1] * sx + unsqueeze(gx, -1), dxy[..., 1:2] * sy + unsqueeze(gy, -1)], -1)
    return grid
