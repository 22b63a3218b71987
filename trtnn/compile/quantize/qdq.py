"""Q/DQ arithmetic and emission: scales from amax, per-channel weight quantization, Q->DQ pairs in a network.

TensorRT's definition (what the engine and trtnn's CPU executor compute): q = saturate(round_half_even(x / scale)),
INT8 saturating to [-128, 127], FP8 E4M3 to [-448, 448]; dq = q * scale. Activations per tensor, weights per
output channel (axis 0 of a convolution kernel), symmetric: scale = amax / 127 (INT8) or amax / 448 (FP8).
"""
from __future__ import annotations

from typing import Any, Dict, Optional

import torch

from ... import dtypes
from ...errors import ConfigError

FORMATS: Dict[str, torch.dtype] = {"int8": torch.int8, "fp8": torch.float8_e4m3fn}
QMAX: Dict[torch.dtype, float] = {torch.int8: 127.0, torch.float8_e4m3fn: 448.0}


def quant_format(dtype: Any) -> Optional[torch.dtype]:
    """torch.int8 / torch.float8_e4m3fn for a quantized build dtype ('int8', 'fp8'), None for a float one."""
    if isinstance(dtype, str) and dtype.lower() in FORMATS:
        return FORMATS[dtype.lower()]
    if isinstance(dtype, torch.dtype) and dtype in QMAX:
        return dtype
    return None


def scale_of(amax: torch.Tensor, fmt: torch.dtype, dtype: torch.dtype) -> torch.Tensor:
    """amax / qmax in `dtype` (the scale's dtype must be the float tensor's in a strongly typed network), within
    the dtype's normal numbers (an all-zero tensor or channel still gets a valid scale > 0; fp16 never overflows)."""
    amax = torch.as_tensor(amax, dtype=torch.float64)
    if not torch.isfinite(amax).all() or (amax < 0).any():
        raise ConfigError(f"amax must be finite and >= 0, got {amax.flatten()[:8].tolist()}")
    scale = (amax / QMAX[fmt]).clamp(min=torch.finfo(dtype).tiny, max=torch.finfo(dtype).max)
    return scale.to(dtype)


def quantize(x: torch.Tensor, scale: torch.Tensor, fmt: torch.dtype, axis: Optional[int] = None) -> torch.Tensor:
    """TensorRT's Q on the CPU: x / scale (in fp32), round half to even, saturate; `axis` for a per-channel scale."""
    s = scale.float()
    if axis is not None and s.dim() == 1:
        s = s.reshape([-1 if d == axis % x.dim() else 1 for d in range(x.dim())])
    y = x.float() / s
    qmax = QMAX[fmt]
    if fmt == torch.int8:
        return torch.round(y).clamp(-qmax - 1, qmax).to(torch.int8)
    return y.clamp(-qmax, qmax).to(fmt)


def weight_amax(kernel: torch.Tensor, axis: int = 0) -> torch.Tensor:
    """Per-channel abs-max of a weight along `axis` (a 1-D tensor, one value per channel)."""
    w = kernel.float().abs().movedim(axis, 0)
    return w.reshape(w.shape[0], -1).amax(dim=1)


def add_qdq(ctx: Any, itensor: Any, amax: float, fmt: torch.dtype, name: str) -> Any:
    """Q(scale) -> DQ(scale) of a floating activation `itensor` (per tensor); returns the DQ output ITensor, in
    itensor's dtype. Layers are named `<name>:quantize` / `<name>:dequantize`."""
    dt = dtypes.to_torch(itensor.dtype)
    s = ctx.network.add_constant((), ctx.weights(scale_of(amax, fmt, dt).reshape(())))
    ctx.name_layer(s, f"{name}:scale")
    scale = s.get_output(0)
    q = ctx.network.add_quantize(itensor, scale, dtypes.to_trt(fmt))
    ctx.name_layer(q, f"{name}:quantize")
    dq = ctx.network.add_dequantize(q.get_output(0), scale, dtypes.to_trt(dt))
    ctx.name_layer(dq, f"{name}:dequantize")
    return dq.get_output(0)


def add_weight_dq(ctx: Any, const_layer: Any, weight: torch.Tensor, amax: torch.Tensor, fmt: torch.dtype,
                  dtype: torch.dtype, axis: int, name: str) -> Any:
    """Turn `const_layer` (the constant a convolution, deconvolution or matrix multiply takes its weights from) into
    the quantized `weight` (per-channel scales on `axis`) and return a DQ of it in `dtype`, for the layer to take
    instead. Layers are named `<name>:weight`, `<name>:weight_scale`, `<name>:weight_dequantize`."""
    scale = scale_of(amax, fmt, dtype)
    if scale.numel() != weight.shape[axis]:
        raise ConfigError(f"weight amax of '{name}' has {scale.numel()} values for {weight.shape[axis]} channels "
                          f"(axis {axis} of weight {tuple(weight.shape)})")
    const_layer.weights = ctx.weights(quantize(weight, scale, fmt, axis))
    ctx.name_layer(const_layer, f"{name}:weight")
    s = ctx.network.add_constant(tuple(scale.shape), ctx.weights(scale))
    ctx.name_layer(s, f"{name}:weight_scale")
    dq = ctx.network.add_dequantize(const_layer.get_output(0), s.get_output(0), dtypes.to_trt(dtype))
    dq.axis = axis
    ctx.name_layer(dq, f"{name}:weight_dequantize")
    return dq.get_output(0)
