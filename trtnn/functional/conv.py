"""Convolution, transposed convolution and batch norm (folded into a preceding convolution when it can be)."""
from __future__ import annotations

import builtins
from typing import Any, Optional, Tuple

import torch

from .. import dtypes
from ..errors import ShapeError, UnsupportedError
from ..tensor import Tensor
from ._core import IntOrPair, _out, _pair, _value, cast
from .elementwise import add, mul
from .shape import pad


def _conv_padding(padding: Any, kernel: Tuple[int, int], dilation: Tuple[int, int]) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    if padding == "valid":
        return (0, 0), (0, 0)
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return (total[0] // 2, total[1] // 2), (total[0] - total[0] // 2, total[1] - total[1] // 2)
    if isinstance(padding, str):
        raise ShapeError(f"padding {padding!r}: expected an int, a pair, 'same' or 'valid'")
    p = _pair(padding)
    return p, p


def conv2d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: Any = 0,
           dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    if input.ndim != 4:
        raise ShapeError(f"conv2d expects a 4-D input (N, C, H, W); '{input.name}' has shape {input.shape}")
    stride, dilation = _pair(stride), _pair(dilation)
    w_is_tensor = isinstance(weight, Tensor)
    wshape = weight.shape if w_is_tensor else tuple(_value(weight).shape)
    if len(wshape) != 4:
        raise ShapeError(f"conv2d weight must be 4-D (out, in/groups, kH, kW), got {wshape}")
    out_c, in_per_group, kh, kw = wshape
    c = input.shape[1]
    if groups <= 0 or out_c % groups:
        raise ShapeError(f"conv2d: groups={groups} must divide out_channels={out_c}")
    if c >= 0 and c != in_per_group * groups:
        raise ShapeError(
            f"conv2d: input '{input.name}' has {c} channels, weight {wshape} with groups={groups} expects {in_per_group * groups}"
        )
    if padding == "same" and builtins.max(stride) != 1:
        raise ShapeError("padding='same' is not supported for strided convolutions (as in torch)")
    pre, post = _conv_padding(padding, (kh, kw), dilation)
    for i, (k, d) in enumerate(zip((kh, kw), dilation)):
        size = input.shape[2 + i]
        if size >= 0 and size + pre[i] + post[i] < d * (k - 1) + 1:
            raise ShapeError(
                f"conv2d: kernel {(kh, kw)} (dilation {dilation}) is larger than the padded input "
                f"{input.shape[2:]} + padding {pre}/{post} of '{input.name}'"
            )
    dt = input.dtype
    if not dt.is_floating_point:
        raise UnsupportedError(f"conv2d needs a floating-point input; '{input.name}' is {dtypes.short(dt)}")
    w_val = None if w_is_tensor else _value(weight)
    b_val = None if bias is None or isinstance(bias, Tensor) else _value(bias)
    ctx = input.ctx

    def emit(kernel: Any, bias_w: Any) -> Any:
        layer = ctx.add("conv", "add_convolution_nd", input.use(), out_c, (kh, kw), kernel, bias_w)
        layer.stride_nd, layer.dilation_nd, layer.num_groups = stride, dilation, groups
        layer.pre_padding, layer.post_padding = pre, post
        if w_is_tensor:
            layer.set_input(1, cast(weight, dt).use())
        if isinstance(bias, Tensor):
            layer.set_input(2, cast(bias, dt).use())
        return layer

    def typed(v: Optional[torch.Tensor]) -> Any:
        return ctx.weights(v, dt) if v is not None else ctx.trt.Weights(dtypes.to_trt(dt))

    if w_val is None or isinstance(bias, Tensor):
        return _out(emit(typed(w_val), typed(b_val)), ctx)
    return ctx.folder.add_conv(emit, w_val, b_val, dt)  # constant weights: a following BatchNorm may fold into it


def conv_transpose2d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0, groups: int = 1, dilation: IntOrPair = 1) -> Tensor:
    if input.ndim != 4:
        raise ShapeError(f"conv_transpose2d expects a 4-D input; '{input.name}' has shape {input.shape}")
    stride, padding, output_padding, dilation = _pair(stride), _pair(padding), _pair(output_padding), _pair(dilation)
    w = _value(weight)
    if w.dim() != 4:
        raise ShapeError(f"conv_transpose2d weight must be 4-D (in, out/groups, kH, kW), got {tuple(w.shape)}")
    in_c, out_per_group, kh, kw = w.shape
    c = input.shape[1]
    if groups <= 0 or in_c % groups:
        raise ShapeError(f"conv_transpose2d: groups={groups} must divide in_channels={in_c}")
    if c >= 0 and c != in_c:
        raise ShapeError(f"conv_transpose2d: input '{input.name}' has {c} channels, weight {tuple(w.shape)} expects {in_c}")
    for op, s, d in zip(output_padding, stride, dilation):
        if op >= builtins.max(s, d):
            raise ShapeError(f"conv_transpose2d: output_padding {output_padding} must be smaller than stride or dilation")
    if dilation != (1, 1):  # TensorRT rejects strided+dilated deconvolution: dilate the kernel with zeros instead
        dil = torch.zeros(in_c, out_per_group, dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1, dtype=w.dtype)
        dil[:, :, ::dilation[0], ::dilation[1]] = w
        w, kh, kw, dilation = dil, dil.shape[2], dil.shape[3], (1, 1)
    dt = input.dtype
    ctx = input.ctx
    post = tuple(p - op for p, op in zip(padding, output_padding))
    extra = tuple(builtins.max(0, -p) for p in post)  # output_padding beyond padding: grow the output with zeros
    quantizable = ctx.folder.kernel_quantizer is not None  # INT8/FP8: the kernel from a constant layer Q/DQ can take
    layer = ctx.add("deconv", "add_deconvolution_nd", input.use(), out_per_group * groups, (kh, kw),
                    ctx.trt.Weights(dtypes.to_trt(dt)) if quantizable else ctx.weights(w, dt),
                    ctx.weights(_value(bias), dt) if bias is not None and not extra[0] and not extra[1] else ctx.trt.Weights(dtypes.to_trt(dt)))
    if quantizable:
        kernel = ctx.constant(w, dt, op="kernel")
        ctx.mark_aux()
        layer.set_input(1, kernel.use())
    layer.stride_nd, layer.dilation_nd, layer.num_groups = stride, dilation, groups
    layer.pre_padding, layer.post_padding = padding, tuple(builtins.max(p, 0) for p in post)
    y = _out(layer, ctx)
    if extra[0] or extra[1]:
        y = pad(y, (0, extra[1], 0, extra[0]))
        if bias is not None:
            y = add(y, _value(bias).reshape(1, -1, 1, 1))
    return y


def batch_norm(input: Tensor, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Inference batch norm. Folded into a preceding convolution whose output nothing else consumed
    (see trtnn.graph.fold); else one scale layer (scale = gamma/sqrt(var+eps), shift = beta - mean*scale)."""
    if training:
        raise UnsupportedError("batch_norm with training=True: TensorRT engines are for inference")
    c = input.shape[1] if input.ndim > 1 else -1
    mean_v, var_v = _value(running_mean).double(), _value(running_var).double()
    if c >= 0 and mean_v.numel() != c:
        raise ShapeError(f"batch_norm: '{input.name}' has {c} channels, running stats have {mean_v.numel()}")
    gamma = _value(weight).double() if weight is not None else torch.ones_like(mean_v)
    beta = _value(bias).double() if bias is not None else torch.zeros_like(mean_v)
    scale = gamma / torch.sqrt(var_v + eps)
    shift = beta - mean_v * scale
    ctx = input.ctx
    folded = ctx.folder.fold(input, scale, shift)
    if folded is not None:
        return folded
    dt = input.dtype
    if input.ndim >= 4:
        trt = ctx.trt
        layer = ctx.add("batch_norm", "add_scale_nd", input.use(), trt.ScaleMode.CHANNEL, ctx.weights(shift, dt),
                        ctx.weights(scale, dt), trt.Weights(dtypes.to_trt(dt)), 1)
        return _out(layer, ctx)
    shape = (1, -1) + (1,) * (input.ndim - 2)
    return add(mul(input, ctx.constant(scale.reshape(shape), dt)), ctx.constant(shift.reshape(shape), dt))
