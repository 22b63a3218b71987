"""Convolution and transposed convolution (1-D, 2-D, 3-D) and batch norm (folded into a preceding convolution when
it can be). conv3d / conv_transpose3d are TensorRT 3-D layers; conv1d / conv_transpose1d run as 2-D layers over
(N, C, L, 1), as TensorRT's convolution needs two spatial dims."""
from __future__ import annotations

import builtins
from typing import Any, Optional, Tuple

import torch

from .. import dtypes
from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from .core import IntOrPair, layer_output, as_tuple, const_value, cast
from .elementwise import add, mul
from .shape import pad, squeeze, unsqueeze


def _conv_padding(padding: Any, kernel: Tuple[int, ...], dilation: Tuple[int, ...]) -> Tuple[Tuple[int, ...], Tuple[int, ...]]:
    n = len(kernel)
    if padding == "valid":
        return (0,) * n, (0,) * n
    if padding == "same":
        total = [d * (k - 1) for k, d in zip(kernel, dilation)]
        return tuple(t // 2 for t in total), tuple(t - t // 2 for t in total)
    if isinstance(padding, str):
        raise ShapeError(f"padding {padding!r}: expected an int, a tuple of {n}, 'same' or 'valid'")
    p = as_tuple(padding, n)
    return p, p


_LAYOUT = {1: "(N, C, L)", 2: "(N, C, H, W)", 3: "(N, C, D, H, W)"}


def _convolution(op: str, nd: int, input: Tensor, weight: Any, bias: Any, stride: IntOrPair, padding: Any,
                 dilation: IntOrPair, groups: int) -> Tensor:
    """An nd-D convolution (nd = 2 or 3; conv1d runs as a 2-D convolution with a kernel width of 1)."""
    if input.ndim != nd + 2:
        raise ShapeError(f"{op} expects a {nd + 2}-D input {_LAYOUT[nd]}; '{input.name}' has shape {input.shape}")
    stride, dilation = as_tuple(stride, nd), as_tuple(dilation, nd)
    w_is_tensor = isinstance(weight, Tensor)
    wshape = weight.shape if w_is_tensor else tuple(const_value(weight).shape)
    if len(wshape) != nd + 2:
        raise ShapeError(f"{op} weight must be {nd + 2}-D (out, in/groups, *kernel), got {wshape}")
    out_c, in_per_group, kernel = wshape[0], wshape[1], tuple(wshape[2:])
    c = input.shape[1]
    if groups <= 0 or out_c % groups:
        raise ShapeError(f"{op}: groups={groups} must divide out_channels={out_c}")
    if c >= 0 and c != in_per_group * groups:
        raise ShapeError(
            f"{op}: input '{input.name}' has {c} channels, weight {wshape} with groups={groups} expects {in_per_group * groups}"
        )
    if padding == "same" and builtins.max(stride) != 1:
        raise ShapeError("padding='same' is not supported for strided convolutions (as in torch)")
    pre, post = _conv_padding(padding, kernel, dilation)
    for i, (k, d) in enumerate(zip(kernel, dilation)):
        size = input.shape[2 + i]
        if size >= 0 and size + pre[i] + post[i] < d * (k - 1) + 1:
            raise ShapeError(
                f"{op}: kernel {kernel} (dilation {dilation}) is larger than the padded input "
                f"{input.shape[2:]} + padding {pre}/{post} of '{input.name}'"
            )
    dt = input.dtype
    if not dt.is_floating_point:
        raise UnsupportedError(f"{op} needs a floating-point input; '{input.name}' is {dtypes.short(dt)}")
    w_val = None if w_is_tensor else const_value(weight)
    b_val = None if bias is None or isinstance(bias, Tensor) else const_value(bias)
    ctx = input.ctx

    def emit(kernel_w: Any, bias_w: Any) -> Any:
        layer = ctx.add("conv", "add_convolution_nd", input.use(), out_c, kernel, kernel_w, bias_w)
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
        return layer_output(emit(typed(w_val), typed(b_val)), ctx)
    return ctx.folder.add_conv(emit, w_val, b_val, dt)  # constant weights: a following BatchNorm may fold into it


def conv2d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: Any = 0,
           dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    return _convolution("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def _deconvolution(op: str, nd: int, input: Tensor, weight: Any, bias: Any, stride: IntOrPair, padding: IntOrPair,
                   output_padding: IntOrPair, groups: int, dilation: IntOrPair) -> Tensor:
    """An nd-D transposed convolution (nd = 2 or 3)."""
    if input.ndim != nd + 2:
        raise ShapeError(f"{op} expects a {nd + 2}-D input {_LAYOUT[nd]}; '{input.name}' has shape {input.shape}")
    stride, padding = as_tuple(stride, nd), as_tuple(padding, nd)
    output_padding, dilation = as_tuple(output_padding, nd), as_tuple(dilation, nd)
    w = const_value(weight)
    if w.dim() != nd + 2:
        raise ShapeError(f"{op} weight must be {nd + 2}-D (in, out/groups, *kernel), got {tuple(w.shape)}")
    in_c, out_per_group, kernel = w.shape[0], w.shape[1], tuple(w.shape[2:])
    c = input.shape[1]
    if groups <= 0 or in_c % groups:
        raise ShapeError(f"{op}: groups={groups} must divide in_channels={in_c}")
    if c >= 0 and c != in_c:
        raise ShapeError(f"{op}: input '{input.name}' has {c} channels, weight {tuple(w.shape)} expects {in_c}")
    for o, s, d in zip(output_padding, stride, dilation):
        if o >= builtins.max(s, d):
            raise ShapeError(f"{op}: output_padding {output_padding} must be smaller than stride or dilation")
    if dilation != (1,) * nd:  # TensorRT rejects strided+dilated deconvolution: dilate the kernel with zeros instead
        dil = torch.zeros((in_c, out_per_group) + tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation)),
                          dtype=w.dtype)
        dil[(slice(None), slice(None)) + tuple(slice(None, None, d) for d in dilation)] = w
        w, kernel, dilation = dil, tuple(dil.shape[2:]), (1,) * nd
    dt = input.dtype
    ctx = input.ctx
    post = tuple(p - o for p, o in zip(padding, output_padding))
    extra = tuple(builtins.max(0, -p) for p in post)  # output_padding beyond padding: grow the output with zeros
    grow = builtins.any(extra)
    quantizable = ctx.folder.kernel_quantizer is not None  # INT8/FP8: the kernel from a constant layer Q/DQ can take
    layer = ctx.add("deconv", "add_deconvolution_nd", input.use(), out_per_group * groups, kernel,
                    ctx.trt.Weights(dtypes.to_trt(dt)) if quantizable else ctx.weights(w, dt),
                    ctx.weights(const_value(bias), dt) if bias is not None and not grow else ctx.trt.Weights(dtypes.to_trt(dt)))
    if quantizable:
        kernel_t = ctx.constant(w, dt, op="kernel")
        ctx.mark_aux()
        layer.set_input(1, kernel_t.use())
    layer.stride_nd, layer.dilation_nd, layer.num_groups = stride, dilation, groups
    layer.pre_padding, layer.post_padding = padding, tuple(builtins.max(p, 0) for p in post)
    y = layer_output(layer, ctx)
    if grow:
        flat = []
        for e in reversed(extra):
            flat += [0, e]
        y = pad(y, tuple(flat))
        if bias is not None:
            y = add(y, const_value(bias).reshape((1, -1) + (1,) * nd))
    return y


def conv_transpose2d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0, groups: int = 1, dilation: IntOrPair = 1) -> Tensor:
    return _deconvolution("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding, groups,
                          dilation)


def batch_norm(input: Tensor, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Inference batch norm. Folded into a preceding convolution whose output nothing else consumed
    (see trtnn.graph.fold); else one scale layer (scale = gamma/sqrt(var+eps), shift = beta - mean*scale)."""
    if training:
        raise UnsupportedError("batch_norm with training=True: TensorRT engines are for inference")
    c = input.shape[1] if input.ndim > 1 else -1
    mean_v, var_v = const_value(running_mean).double(), const_value(running_var).double()
    if c >= 0 and mean_v.numel() != c:
        raise ShapeError(f"batch_norm: '{input.name}' has {c} channels, running stats have {mean_v.numel()}")
    gamma = const_value(weight).double() if weight is not None else torch.ones_like(mean_v)
    beta = const_value(bias).double() if bias is not None else torch.zeros_like(mean_v)
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
        return layer_output(layer, ctx)
    shape = (1, -1) + (1,) * (input.ndim - 2)
    return add(mul(input, ctx.constant(scale.reshape(shape), dt)), ctx.constant(shift.reshape(shape), dt))


def _widen(v: Any, fill: int) -> Any:
    """A 1-D conv argument (int or 1-tuple; strings pass) as the 2-D argument over (L, 1)."""
    return v if isinstance(v, str) else (as_tuple(v, 1)[0], fill)


def _kernel_2d(weight: Any) -> Any:
    return unsqueeze(weight, -1) if isinstance(weight, Tensor) else const_value(weight).unsqueeze(-1)


def _check_1d(op: str, input: Tensor) -> None:
    if input.ndim != 3:
        raise ShapeError(f"{op} expects a 3-D input (N, C, L); '{input.name}' has shape {input.shape}")


def conv1d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: Any = 0,
           dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    _check_1d("conv1d", input)
    y = _convolution("conv1d", 2, unsqueeze(input, -1), _kernel_2d(weight), bias, _widen(stride, 1),
                     _widen(padding, 0), _widen(dilation, 1), groups)
    return squeeze(y, -1)


def conv3d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: Any = 0,
           dilation: IntOrPair = 1, groups: int = 1) -> Tensor:
    return _convolution("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0, groups: int = 1, dilation: IntOrPair = 1) -> Tensor:
    _check_1d("conv_transpose1d", input)
    y = _deconvolution("conv_transpose1d", 2, unsqueeze(input, -1), const_value(weight).unsqueeze(-1), bias,
                       _widen(stride, 1), _widen(padding, 0), _widen(output_padding, 0), groups, _widen(dilation, 1))
    return squeeze(y, -1)


def conv_transpose3d(input: Tensor, weight: Any, bias: Any = None, stride: IntOrPair = 1, padding: IntOrPair = 0,
                     output_padding: IntOrPair = 0, groups: int = 1, dilation: IntOrPair = 1) -> Tensor:
    return _deconvolution("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding, groups,
                          dilation)
