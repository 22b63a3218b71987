"""Shape manipulation: reshape/view, permute, squeeze, expand, slicing, split, cat/stack and pad."""
from __future__ import annotations

import builtins
import math
from typing import Any, List, Optional, Sequence, Union

import numpy as np
import torch

from .. import dtypes
from ..errors import ShapeError, UnsupportedError
from ..graph.tensor import Tensor
from .core import (Spec, norm_dim, norm_dims, unsqueeze_dynamic, has_dynamic_dims, is_dim_ref, lift, layer_output, shuffle_layer, shape_spec, trt_of,
                    unsqueeze_front, cast, constant)
from . import dims
from .elementwise import where
from .dims import Size, is_static, sym_size, vector


def _resolve(x: Tensor, spec: Spec) -> List[Size]:
    """Spec items as Sizes: ("d", j) becomes x's dim j (a runtime size where it is dynamic)."""
    return [sym_size(x, v[1]) if is_dim_ref(v) else v for v in spec]


def _is_dyn(spec: Spec) -> bool:
    return any(is_dim_ref(v) or not is_static(v) for v in spec)


def shape_vector(x: Tensor, spec: Spec) -> Tensor:
    """An int64 shape tensor for `spec` (ints, references to x's dims, runtime sizes), computed in the engine; ints
    and references alone take one shape layer, one gather and one select."""
    if any(isinstance(v, Tensor) for v in spec):
        return vector(_resolve(x, spec), x)
    dims_ = layer_output(x.ctx.add("shape", "add_shape", x.use()), x.ctx)
    picks = constant(torch.tensor([item[1] if is_dim_ref(item) else 0 for item in spec]), dims_, torch.int32)
    picked = layer_output(x.ctx.add("index_select", "add_gather", dims_.use(), picks.use(), 0), x.ctx)
    if all(is_dim_ref(item) for item in spec):
        return picked
    return where(torch.tensor([is_dim_ref(item) for item in spec]), picked,
                 torch.tensor([0 if is_dim_ref(item) else item for item in spec], dtype=torch.int64))


def reshape(input: Tensor, shape: Sequence[Any]) -> Tensor:
    """torch's reshape/view. With dynamic dims, when more than one -1 is given, -1s at the index of a dynamic input
    dim copy that dim (from the left, until one -1 is left to infer), so `x.view(x.shape[0], -1)` and
    `x.view(x.shape[0], c, -1)` work for a dynamic batch and size; sizes may also be runtime sizes
    (`F.sym_size`), e.g. `x.view(b, na, no, ny, nx)` with `b, _, ny, nx = F.sym_shape(x)`."""
    if any(isinstance(s, Tensor) for s in shape):  # runtime sizes (F.sym_size arithmetic): the engine's reshape
        if builtins.sum(1 for s in shape if not isinstance(s, Tensor) and int(s) == -1) > 1:
            raise ShapeError(f"reshape of '{input.name}' {input.shape}: only one dimension can be inferred")
        return reshape_spec(input, [s if isinstance(s, Tensor) else int(s) for s in shape])
    shape = tuple(int(s) for s in shape)
    if has_dynamic_dims(input):
        spec: Spec = list(shape)
        left = shape.count(-1)
        for i, v in enumerate(shape):  # from the left, until one -1 is left to infer
            if left > 1 and v == -1 and i < input.ndim and input.shape[i] < 0:
                spec[i], left = ("d", i), left - 1
        if builtins.sum(1 for v in spec if v == -1) > 1:
            raise ShapeError(f"reshape of '{input.name}' {input.shape} to {shape}: only one dimension can be inferred")
        return reshape_spec(input, spec)
    if shape.count(-1) > 1:
        raise ShapeError(f"reshape of '{input.name}' {input.shape} to {shape}: only one dimension can be -1")
    n, known = input.numel(), int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if -1 in shape:
        if known == 0 or n % known:
            raise ShapeError(f"shape {shape} is invalid for tensor '{input.name}' of shape {input.shape}")
        shape = tuple(n // known if s == -1 else s for s in shape)
    if int(np.prod(shape, dtype=np.int64)) != n:
        raise ShapeError(f"shape {shape} is invalid for tensor '{input.name}' of shape {input.shape}")
    return input if shape == input.shape else reshape_spec(input, list(shape))


def reshape_spec(x: Tensor, spec: Spec) -> Tensor:
    if not _is_dyn(spec):
        return shuffle_layer(x, "reshape", dims=tuple(spec), zero_placeholder=False)
    layer = x.ctx.add("reshape", "add_shuffle", x.use())
    layer.zero_is_placeholder = False
    layer.set_input(1, shape_vector(x, spec).use())
    return layer_output(layer, x.ctx)


view = reshape


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    perm = [norm_dim(d, input.ndim) for d in dims]
    if sorted(perm) != list(range(input.ndim)):
        raise ShapeError(f"permute dims {tuple(dims)} are not a permutation of the {input.ndim} dims of '{input.name}'")
    return shuffle_layer(input, "permute", first=perm)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    perm = list(range(input.ndim))
    a, b = norm_dim(dim0, input.ndim), norm_dim(dim1, input.ndim)
    perm[a], perm[b] = perm[b], perm[a]
    return shuffle_layer(input, "transpose", first=perm)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if input.ndim == 0:
        return reshape(input, (1,))
    s, e = norm_dim(start_dim, input.ndim), norm_dim(end_dim, input.ndim)
    shp, spec = input.shape, shape_spec(input)
    merged = -1 if builtins.min(shp[s:e + 1]) < 0 else int(np.prod(shp[s:e + 1], dtype=np.int64))
    if not has_dynamic_dims(input):
        return reshape(input, shp[:s] + (merged,) + shp[e + 1:])
    return reshape_spec(input, spec[:s] + [merged] + spec[e + 1:])


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    shp = input.shape
    dims = [i for i, s in enumerate(shp) if s == 1] if dim is None else [d for d in norm_dims(dim, input.ndim) if shp[d] == 1]
    kept = [v for i, v in enumerate(shape_spec(input)) if i not in dims]
    return reshape(input, kept) if not has_dynamic_dims(input) else reshape_spec(input, kept)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    d = norm_dim(dim, input.ndim + 1)
    if builtins.min(input.shape, default=0) < 0:
        return unsqueeze_dynamic(input, [d])
    shp = list(input.shape)
    shp.insert(d, 1)
    return reshape(input, shp)


def expand(input: Tensor, sizes: Sequence[int]) -> Tensor:
    x = unsqueeze_front(input, len(sizes) - input.ndim)
    shp = x.shape
    out = [v if isinstance(n, int) and n == -1 else n for v, n in zip(shape_spec(x), sizes)]
    for s, n in zip(shp, out):  # a runtime size (F.sym_size) is the engine's to check
        if isinstance(n, int) and s != 1 and s != n:
            raise ShapeError(f"expand of '{input.name}' {input.shape} to {tuple(sizes)}: size {s} cannot become {n}")
    stride = tuple(0 if s == 1 and not (isinstance(n, int) and n == 1) else 1 for s, n in zip(shp, out))
    return slice_layer(x, "expand", (0,) * x.ndim, out, stride)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """torch's expand_as: size-1 dims of `input` broadcast to `other`'s sizes, dynamic ones included."""
    x = unsqueeze_front(input, other.ndim - input.ndim)
    out = shape_spec(other)
    for s, n in zip(x.shape, other.shape):
        if s != 1 and s != n:
            raise ShapeError(f"expand_as: '{input.name}' {input.shape} cannot be expanded to '{other.name}' {other.shape}")
    stride = tuple(0 if s == 1 and n != 1 else 1 for s, n in zip(x.shape, other.shape))
    return slice_layer(x, "expand_as", (0,) * x.ndim, out, stride, dims_of=other)


def slice_layer(x: Tensor, op: str, start, shape: Spec, stride, mode: Optional[str] = None, fill: Any = None,
           dims_of: Optional[Tensor] = None) -> Tensor:
    """A slice layer; start, shape and stride items may be runtime sizes, and shape items may reference dims of x
    (or of `dims_of`)."""
    static = [0 if _is_dyn([v]) else v for v in start], [0 if _is_dyn([v]) else v for v in shape], \
        [0 if _is_dyn([v]) else v for v in stride]
    layer = x.ctx.add(op, "add_slice", x.use(), *(tuple(v) for v in static))
    for i, (items, of) in enumerate(((start, x), (shape, x if dims_of is None else dims_of), (stride, x)), 1):
        if _is_dyn(items):
            layer.set_input(i, shape_vector(of, list(items)).use())
    if mode is not None:
        layer.mode = getattr(trt_of(x).SampleMode, mode)
    if fill is not None:
        layer.set_input(4, x.ctx.constant(torch.tensor(fill), x.dtype).use())
    return layer_output(layer, x.ctx)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    """torch.narrow; on a dynamic dim a negative start counts from the runtime end (bounds are the engine's)."""
    d = norm_dim(dim, input.ndim)
    n = input.shape[d]
    if n >= 0:
        start = start + n if start < 0 else start
        if start < 0 or length < 0 or start + length > n:
            raise ShapeError(f"narrow of '{input.name}' dim {d} (size {n}): start {start} + length {length} out of "
                             f"range")
    elif length < 0:
        raise ShapeError(f"narrow of '{input.name}' dim {d}: length must not be negative, got {length}")
    elif start < 0:
        start = dims.add(sym_size(input, d), start)
    return _narrow(input, d, start, length)


def _narrow(x: Tensor, d: int, start: Size, length: Size) -> Tensor:
    begin, size = [0] * x.ndim, shape_spec(x)
    begin[d], size[d] = start, length
    return slice_layer(x, "slice", begin, size, [1] * x.ndim)


def split(tensor: Tensor, split_size_or_sections: Union[int, Sequence[int]], dim: int = 0) -> List[Tensor]:
    """torch.split. On a dynamic dim the sections must be a list (the number of pieces of an int split size would
    depend on the runtime size); their sum is the engine's to check."""
    d = norm_dim(dim, tensor.ndim)
    n = tensor.shape[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ShapeError(f"split size must be positive, got {step}")
        if n < 0:
            raise UnsupportedError(f"split of '{tensor.name}' {tensor.shape} into pieces of {step} along dim {d}: "
                                   f"the dim is dynamic, so the number of pieces is not known when the network is "
                                   f"defined; give the section sizes as a list, or use chunk")
        sizes = [builtins.min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = [int(v) for v in split_size_or_sections]
        if n >= 0 and builtins.sum(sizes) != n:
            raise ShapeError(f"split sections {sizes} do not sum to size {n} of dim {d} of '{tensor.name}'")
    out, pos = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, pos, s) if n >= 0 else _narrow(tensor, d, pos, s))
        pos += s
    return out


def chunk(input: Tensor, chunks: int, dim: int = 0) -> List[Tensor]:
    """torch.chunk. On a dynamic dim of size n: `chunks` pieces of ceil(n / chunks), the last one shorter (torch
    returns fewer pieces when even that would be empty; the engine then fails on a negative size)."""
    d = norm_dim(dim, input.ndim)
    if chunks <= 0:
        raise ShapeError(f"chunk expects a positive number of chunks, got {chunks}")
    n = input.shape[d]
    if n >= 0:
        return split(input, builtins.max(1, math.ceil(n / chunks)), dim)
    size = sym_size(input, d)
    step = dims.ceildiv(size, chunks)
    out = [_narrow(input, d, dims.mul(step, i), step) for i in range(chunks - 1)]
    last = dims.mul(step, chunks - 1)
    return out + [_narrow(input, d, last, dims.sub(size, last))]


def unbind(input: Tensor, dim: int = 0) -> List[Tensor]:
    d = norm_dim(dim, input.ndim)
    return [squeeze(t, d) for t in split(input, 1, d)]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    like = next((t for t in tensors if isinstance(t, Tensor)), None)
    if like is None:
        raise ShapeError("cat expects a non-empty list of tensors")
    ts = [t if isinstance(t, Tensor) else lift(t, like) for t in tensors]  # torch/numpy constants, as in add
    if len(ts) == 1:
        return ts[0]
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = dtypes.promote(dt, t.dtype)
    ts = [cast(t, dt) for t in ts]
    d = norm_dim(dim, ts[0].ndim)
    for t in ts[1:]:
        if t.ndim != ts[0].ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ts[0].shape)) if i != d):
            shapes = ", ".join(f"'{x.name}' {x.shape}" for x in ts)
            raise ShapeError(f"cat along dim {d}: shapes must match except in that dim, got {shapes}")
    return layer_output(ts[0].ctx.add("cat", "add_concatenation", [t.use() for t in ts], axis=d), ts[0].ctx)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    d = norm_dim(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def pad(input: Tensor, pad: Sequence[Any], mode: str = "constant", value: Optional[float] = None) -> Tensor:  # noqa: A002
    """torch.nn.functional.pad: pairs from the last dim backwards; negative pads crop (constant mode). A pad may be
    a runtime size (F.sym_size arithmetic, e.g. UNet's pad-to-match of two dynamic feature maps)."""
    modes = {"constant": "FILL", "reflect": "REFLECT", "replicate": "CLAMP", "circular": "WRAP"}
    if mode not in modes:
        raise UnsupportedError(f"pad mode={mode!r}; supported: {', '.join(modes)}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ShapeError(f"pad {tuple(pad)}: expected pairs for at most {input.ndim} dims")
    padded = [input.ndim - 1 - i for i in range(len(pad) // 2)]
    shp = input.shape
    start, size, changed = [0] * input.ndim, shape_spec(input), False
    for i, d in enumerate(padded):
        before, after = (v if isinstance(v, Tensor) else int(v) for v in (pad[2 * i], pad[2 * i + 1]))
        if is_static(before) and is_static(after):
            if mode == "reflect" and shp[d] >= 0 and (before >= shp[d] or after >= shp[d]):
                raise ShapeError(f"reflect padding {before, after} must be smaller than dim {d} (size {shp[d]}) of "
                                 f"'{input.name}'")
            if mode != "constant" and (before < 0 or after < 0):
                raise ShapeError(f"{mode} padding must not be negative, got {tuple(pad)}")
            if before == after == 0:
                continue
        changed = True
        start[d] = dims.sub(0, before)
        if shp[d] >= 0 and is_static(before) and is_static(after):
            size[d] = shp[d] + before + after
            if size[d] < 0:
                raise ShapeError(f"pad {tuple(pad)} leaves a negative size for dim {d} of '{input.name}'")
        else:
            size[d] = dims.add(dims.add(sym_size(input, d), before), after)
    if not changed:
        return input
    fill = value if mode == "constant" and value else None
    return slice_layer(input, f"pad_{mode}", start, size, [1] * input.ndim, mode=modes[mode], fill=fill)
