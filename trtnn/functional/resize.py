"""Resizing: interpolate / upsample and the upsample_nearest / upsample_bilinear shorthands (TensorRT Resize)."""
from __future__ import annotations

import math
from typing import Any, Optional

from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from .core import has_dynamic_dims, layer_output, shape_spec, trt_of
from .pool import adaptive_avg_pool1d, adaptive_avg_pool2d
from .shape import shape_vector


def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None,
                antialias: bool = False) -> Tensor:
    nsp = input.ndim - 2
    linear_modes = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}
    if mode not in ("nearest", "nearest-exact", "area", *linear_modes):
        raise UnsupportedError(f"interpolate mode={mode!r}; supported: nearest, nearest-exact, linear, bilinear, "
                               f"bicubic, trilinear, area")
    if mode in linear_modes and linear_modes[mode] != nsp:
        raise ShapeError(f"interpolate mode={mode!r} expects a {linear_modes[mode] + 2}-D input, got {input.shape}")
    if align_corners is not None and mode not in linear_modes:
        raise ShapeError("align_corners option can only be set with the interpolating modes: linear | bilinear | trilinear")
    if antialias:
        raise UnsupportedError("interpolate antialias=True has no TensorRT equivalent")
    if (size is None) == (scale_factor is None):
        raise ShapeError("interpolate: exactly one of size and scale_factor must be given")
    if mode == "area":
        return _area(input, size, scale_factor)
    spatial = input.shape[2:]
    trt = trt_of(input)
    sf = None
    if size is not None:  # ints, or runtime sizes (F.sym_size), e.g. the size of another tensor
        out = tuple(v if isinstance(v, Tensor) else int(v) for v in (size if isinstance(size, (list, tuple))
                                                                     else [size] * nsp))
    else:
        sf = tuple(float(v) for v in (scale_factor if isinstance(scale_factor, (list, tuple)) else [scale_factor] * nsp))
        out = tuple(int(math.floor(n * f)) if n >= 0 else -1 for n, f in zip(spatial, sf))
        if recompute_scale_factor and all(f == int(f) for f in sf):
            recompute_scale_factor = False  # out = n * f exactly, so torch maps coordinates by f: TensorRT's scales
        if recompute_scale_factor and min(spatial) < 0:
            dim = 2 + list(spatial).index(-1)
            raise UnsupportedError(f"interpolate with recompute_scale_factor=True and the non-integer scale_factor "
                                   f"{sf} needs static spatial dims; tensor '{input.name}' has shape {input.shape} "
                                   f"(dim {dim} is dynamic): give size= or an integer scale_factor")
    layer = input.ctx.add(f"resize_{mode}", "add_resize", input.use())
    if sf is not None and not recompute_scale_factor:
        layer.scales = (1.0, 1.0) + sf
    elif has_dynamic_dims(input) or any(isinstance(v, Tensor) for v in out):
        layer.set_input(1, shape_vector(input, shape_spec(input)[:2] + list(out)).use())
    else:
        layer.shape = tuple(input.shape[:2]) + out
    if mode in linear_modes:
        layer.resize_mode = trt.InterpolationMode.CUBIC if mode == "bicubic" else trt.InterpolationMode.LINEAR
        if mode == "bicubic":
            layer.cubic_coeff = -0.75  # torch's A; neighbours beyond the border repeat the edge (exclude_outside off)
        ct = trt.ResizeCoordinateTransformation
        layer.coordinate_transformation = ct.ALIGN_CORNERS if align_corners else ct.HALF_PIXEL
    else:
        layer.resize_mode = trt.InterpolationMode.NEAREST
        exact = mode == "nearest-exact"
        layer.coordinate_transformation = (
            trt.ResizeCoordinateTransformation.HALF_PIXEL if exact else trt.ResizeCoordinateTransformation.ASYMMETRIC
        )
        layer.nearest_rounding = trt.ResizeRoundMode.HALF_UP if exact else trt.ResizeRoundMode.FLOOR
    return layer_output(layer, input.ctx)


upsample = interpolate


def _area(input: Tensor, size: Any, scale_factor: Any) -> Tensor:
    """mode='area' is adaptive average pooling to the output size (1-D and 2-D)."""
    nsp = input.ndim - 2
    if nsp not in (1, 2):
        raise UnsupportedError(f"interpolate mode='area' on a {input.ndim}-D input: only 3-D and 4-D inputs")
    spatial = input.shape[2:]
    if size is not None:
        out = tuple(int(v) for v in (size if isinstance(size, (list, tuple)) else [size] * nsp))
    else:
        if min(spatial) < 0:
            dim = 2 + list(spatial).index(-1)
            raise UnsupportedError(f"interpolate mode='area' with scale_factor needs static spatial dims; tensor "
                                   f"'{input.name}' has shape {input.shape} (dim {dim} is dynamic): give size=")
        sf = scale_factor if isinstance(scale_factor, (list, tuple)) else [scale_factor] * nsp
        out = tuple(int(math.floor(n * float(f))) for n, f in zip(spatial, sf))
    return adaptive_avg_pool1d(input, out) if nsp == 1 else adaptive_avg_pool2d(input, out)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
