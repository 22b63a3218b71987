"""Spatial layers: convolution, deconvolution, pooling, scale, resize, grid sample."""
from __future__ import annotations

import math
from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F

from .common import Node, dims, register, weights_tensor

_REDUCED = (torch.float16, torch.bfloat16)


def _fp32_accumulation(op):
    """`op` as TensorRT computes fp16/bf16 (de)convolutions: inputs and weights in the reduced dtype (exact in fp32),
    products summed and the bias added in fp32, the output rounded to the reduced dtype once. (torch's CPU half
    kernels give the same values up to summation order, ~25x slower.)"""
    def run(x, w, b, *args):
        if x.dtype not in _REDUCED:
            return op(x, w, b, *args)
        return op(x.float(), w.float(), None if b is None else b.float(), *args).to(x.dtype)
    return run


_CONV = {nd: _fp32_accumulation(op) for nd, op in ((1, F.conv1d), (2, F.conv2d), (3, F.conv3d))}
_DECONV = {nd: _fp32_accumulation(op)
           for nd, op in ((1, F.conv_transpose1d), (2, F.conv_transpose2d), (3, F.conv_transpose3d))}


def _window_pads(mode: str, size: int, k: int, s: int, pre: int, post: int) -> Tuple[int, int, int]:
    """(pre, post, extra) padding of one spatial dim; `extra` is the overhang EXPLICIT_ROUND_UP adds after post."""
    if mode in ("SAME_UPPER", "SAME_LOWER"):
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        small = total // 2
        return (small, total - small, 0) if mode == "SAME_UPPER" else (total - small, small, 0)
    if mode == "EXPLICIT_ROUND_UP":
        span = size + pre + post - k
        out = -(-span // s) + 1
        return pre, post, max((out - 1) * s + k - (size + pre + post), 0)
    return pre, post, 0


def _flat_pad(pads: Sequence[Tuple[int, int]]) -> List[int]:
    """F.pad's argument (last dim first) from per-dim (before, after) pairs in dim order."""
    flat: List[int] = []
    for a, b in reversed(pads):
        flat += [a, b]
    return flat


class _Window:
    """Kernel geometry of a convolution / pooling layer, read once."""

    def __init__(self, layer, kernel: Sequence[int], dilation: Sequence[int]):
        self.mode = layer.padding_mode.name
        self.kernel, self.dilation = list(kernel), list(dilation)
        self.stride = list(dims(layer.stride_nd))
        self.pre, self.post = list(dims(layer.pre_padding)), list(dims(layer.post_padding))
        self.nd = len(self.kernel)
        self.span = [(k - 1) * d + 1 for k, d in zip(self.kernel, self.dilation)]
        self.symmetric = self.mode == "EXPLICIT_ROUND_DOWN" and self.pre == self.post

    def pads(self, spatial: Sequence[int]) -> List[Tuple[int, int, int]]:
        return [_window_pads(self.mode, n, k, s, a, b)
                for n, k, s, a, b in zip(spatial, self.span, self.stride, self.pre, self.post)]


def _conv_weights(node: Node, transposed: bool):
    layer = node.layer
    ks = list(dims(layer.kernel_size_nd))
    dtype = node.in_dtypes[0]
    kernel = weights_tensor(layer.kernel)
    if kernel is not None:
        groups, k = int(layer.num_groups), int(layer.num_output_maps)
        kernel = kernel.reshape([-1, k // groups] + ks if transposed else [k, -1] + ks).to(dtype).contiguous()
    bias = weights_tensor(layer.bias)
    bias = bias.to(dtype) if bias is not None else None
    return ks, kernel, bias


@register("CONVOLUTION", "IConvolutionLayer")
def convolution(node: Node):
    layer = node.layer
    ks, kernel, bias = _conv_weights(node, transposed=False)
    win = _Window(layer, ks, dims(layer.dilation_nd))
    conv, groups = _CONV.get(win.nd), int(layer.num_groups)
    if conv is None:
        raise node.unsupported(f"{win.nd}-D convolution")
    stride, dilation = win.stride, win.dilation

    def run(x, w=None, b=None):
        w = kernel if w is None else w
        b = bias if b is None else b
        if win.symmetric:
            return conv(x, w, b, stride, win.pre, dilation, groups)
        pads = win.pads(x.shape[-win.nd:])
        x = F.pad(x, _flat_pad([(a, p + e) for a, p, e in pads]))
        return conv(x, w, b, stride, 0, dilation, groups)
    return run


@register("DECONVOLUTION", "IDeconvolutionLayer")
def deconvolution(node: Node):
    layer = node.layer
    ks, kernel, bias = _conv_weights(node, transposed=True)
    win = _Window(layer, ks, dims(layer.dilation_nd))
    deconv, groups = _DECONV.get(win.nd), int(layer.num_groups)
    if deconv is None:
        raise node.unsupported(f"{win.nd}-D deconvolution")
    stride, dilation = win.stride, win.dilation
    if win.mode in ("SAME_UPPER", "SAME_LOWER"):
        pads = []
        for span, s in zip(win.span, stride):
            total = max(span - s, 0)  # output = input * stride
            small, big = total // 2, total - total // 2
            pads.append((small, big) if win.mode == "SAME_UPPER" else (big, small))
    else:
        pads = list(zip(win.pre, win.post))
    if any(a < 0 or b < 0 for a, b in pads):
        raise node.unsupported("negative deconvolution padding")
    same = all(a == b for a, b in pads)

    def run(x, w=None, b=None):
        w = kernel if w is None else w
        b = bias if b is None else b
        if same:
            return deconv(x, w, b, stride, [a for a, _ in pads], 0, groups, dilation)
        y = deconv(x, w, b, stride, 0, 0, groups, dilation)
        for d, (a, p) in enumerate(pads):
            axis = y.dim() - win.nd + d
            y = y.narrow(axis, a, y.shape[axis] - a - p)
        return y
    return run


_AVG = {1: F.avg_pool1d, 2: F.avg_pool2d, 3: F.avg_pool3d}
_MAX = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}


@register("POOLING", "IPoolingLayer")
def pooling(node: Node):
    layer = node.layer
    kind = layer.type.name  # the typed layer's `type` is the PoolingType
    ks = list(dims(layer.window_size_nd))
    win = _Window(layer, ks, [1] * len(ks))
    nd = win.nd
    if nd not in (2, 3):
        raise node.unsupported(f"{nd}-D pooling")
    exclude = bool(layer.average_count_excludes_padding)
    blend = float(layer.blend_factor)
    fast = win.symmetric and all(2 * p <= k for p, k in zip(win.pre, ks))
    counts: Dict[Tuple[int, ...], torch.Tensor] = {}

    def max_pool(x):
        if fast:
            return _MAX[nd](x, ks, win.stride, win.pre)
        pads = win.pads(x.shape[-nd:])
        x = F.pad(x, _flat_pad([(a, p + e) for a, p, e in pads]), value=-math.inf)
        return _MAX[nd](x, ks, win.stride)

    def sum_pool(x):
        if x.dtype == torch.float16 and nd == 3:
            return _AVG[nd](x.float(), ks, win.stride, divisor_override=1).half()
        return _AVG[nd](x, ks, win.stride, divisor_override=1)

    def avg_pool(x):
        if fast and not (x.dtype == torch.float16 and nd == 3):
            return _AVG[nd](x, ks, win.stride, win.pre, count_include_pad=not exclude)
        spatial = tuple(x.shape[-nd:])
        pads = win.pads(spatial)
        div = counts.get(spatial)
        if div is None:  # how many elements each window averages: input, plus explicit padding unless excluded
            ones = torch.ones((1, 1) + spatial)
            ones = F.pad(ones, _flat_pad([(a, p) for a, p, _ in pads]), value=0.0 if exclude else 1.0)
            ones = F.pad(ones, _flat_pad([(0, e) for _, _, e in pads]))
            div = counts[spatial] = sum_pool(ones)
        x = F.pad(x, _flat_pad([(a, p + e) for a, p, e in pads]))
        return sum_pool(x) / div.to(x.dtype)

    if kind == "MAX":
        return max_pool
    if kind == "AVERAGE":
        return avg_pool
    if kind == "MAX_AVERAGE_BLEND":
        return lambda x: blend * max_pool(x) + (1 - blend) * avg_pool(x)
    raise node.unsupported(f"pooling type {kind}")


@register("SCALE", "IScaleLayer")
def scale(node: Node):
    layer = node.layer
    mode, axis = layer.mode.name, int(layer.channel_axis)
    dtype = node.in_dtypes[0]
    rank = len(node.in_shapes[0])
    axis %= rank

    def param(w, neutral: float):
        t = weights_tensor(w)
        if t is None or bool((t == neutral).all()):
            return None
        t = t.to(dtype)
        if mode == "UNIFORM":
            return t.reshape(())
        if mode == "CHANNEL":
            return t.reshape([-1 if d == axis else 1 for d in range(rank)])
        return t.reshape([1] * axis + [int(v) for v in node.in_shapes[0][axis:]])

    mul, add, power = param(layer.scale, 1.0), param(layer.shift, 0.0), param(layer.power, 1.0)

    def run(x):
        if mul is not None:
            x = x * mul
        if add is not None:
            x = x + add
        if power is not None:
            x = torch.pow(x, power)
        return x
    return run


def _cubic(t: torch.Tensor, a: float) -> torch.Tensor:
    t = t.abs()
    near = ((a + 2) * t - (a + 3)) * t * t + 1
    far = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a
    return torch.where(t <= 1, near, torch.where(t < 2, far, torch.zeros_like(t)))


class _ResizeAxis:
    """Source indices and weights of each output position along one resized dimension."""

    def __init__(self, layer):
        self.mode = layer.resize_mode.name
        self.transform = layer.coordinate_transformation.name
        self.rounding = layer.nearest_rounding.name
        self.upper = layer.selector_for_single_pixel.name == "UPPER"
        self.cubic = float(layer.cubic_coeff)
        self.exclude = bool(layer.exclude_outside)
        self.cache: Dict[Tuple[int, int, float], List[Tuple[torch.Tensor, torch.Tensor]]] = {}

    def taps(self, n_in: int, n_out: int, scale: float) -> List[Tuple[torch.Tensor, torch.Tensor]]:
        key = (n_in, n_out, scale)
        if key not in self.cache:
            self.cache[key] = self._taps(n_in, n_out, scale)
        return self.cache[key]

    def _taps(self, n_in: int, n_out: int, scale: float):
        x = torch.arange(n_out, dtype=torch.float64)
        ratio = 1.0 / scale if scale > 0 else n_in / n_out
        if n_out == 1 and self.upper:
            src = torch.zeros(1, dtype=torch.float64)
        elif self.transform == "ALIGN_CORNERS":
            src = x * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        elif self.transform == "HALF_PIXEL":
            src = (x + 0.5) * ratio - 0.5
        else:
            src = x * ratio
        clamp = lambda i: i.clamp(0, n_in - 1).long()  # noqa: E731
        if self.mode == "NEAREST":
            rounded = {"FLOOR": torch.floor, "CEIL": torch.ceil, "HALF_UP": lambda v: torch.floor(v + 0.5),
                       "HALF_DOWN": lambda v: torch.ceil(v - 0.5)}[self.rounding](src)
            return [(clamp(rounded), None)]
        base = torch.floor(src)
        frac = src - base
        if self.mode == "LINEAR":
            return [(clamp(base), 1 - frac), (clamp(base + 1), frac)]
        offsets = [-1, 0, 1, 2]
        weights = [_cubic(frac - o, self.cubic) for o in offsets]
        if self.exclude:
            inside = [((base + o) >= 0) & ((base + o) <= n_in - 1) for o in offsets]
            weights = [w * m for w, m in zip(weights, inside)]
            total = sum(weights)
            weights = [w / total for w in weights]
        return [(clamp(base + o), w) for o, w in zip(offsets, weights)]


@register("RESIZE", "IResizeLayer")
def resize(node: Node):
    layer = node.layer
    axis_map = _ResizeAxis(layer)
    if axis_map.mode not in ("NEAREST", "LINEAR", "CUBIC"):
        raise node.unsupported(f"resize mode {axis_map.mode}")
    fixed = None if node.has_input(1) else dims(layer.shape)
    scales0 = None if (node.has_input(1) or fixed is not None) else [float(s) for s in layer.scales]

    def run(x, target=None):
        scales = scales0
        if target is not None:
            if target.is_floating_point():
                scales = [float(v) for v in target.tolist()]
            else:
                out_shape = [int(v) for v in target.tolist()]
        if scales is not None:
            out_shape = [int(math.floor(n * s)) for n, s in zip(x.shape, scales)]
        elif target is None:
            out_shape = list(fixed)
        for d, (n_in, n_out) in enumerate(zip(x.shape, out_shape)):
            scale = scales[d] if scales is not None else 0.0
            if n_in == n_out and (scales is None or scale == 1.0):
                continue
            taps = axis_map.taps(n_in, n_out, scale)
            if taps[0][1] is None:
                x = x.index_select(d, taps[0][0])
                continue
            view = [-1 if i == d else 1 for i in range(x.dim())]
            acc = None
            for idx, w in taps:
                term = x.index_select(d, idx) * w.to(x.dtype).reshape(view)
                acc = term if acc is None else acc + term
            x = acc
        return x
    return run


_GRID_MODES = {"NEAREST": "nearest", "LINEAR": "bilinear", "CUBIC": "bicubic"}
_GRID_PADDING = {"FILL": "zeros", "CLAMP": "border", "REFLECT": "reflection"}


@register("GRID_SAMPLE", "IGridSampleLayer")
def grid_sample(node: Node):
    layer = node.layer
    mode, sample = layer.interpolation_mode.name, layer.sample_mode.name
    if sample not in _GRID_PADDING:
        raise node.unsupported(f"grid sample mode {sample}")
    align = bool(layer.align_corners)
    return lambda x, grid: F.grid_sample(x, grid.to(x.dtype), _GRID_MODES[mode], _GRID_PADDING[sample], align)
