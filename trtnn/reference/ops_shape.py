"""Data movement layers: shuffle, slice, concatenation, gather/scatter, constant, shape, fill, padding, (un)squeeze,
one-hot, non-zero, reverse-sequence."""
from __future__ import annotations

from typing import List, Optional, Sequence

import torch
import torch.nn.functional as F

from .common import FLOATS, Node, dims, register, weights_tensor


def _perm(p, rank: int) -> Optional[List[int]]:
    """A TensorRT Permutation cut to `rank`; None when it is the identity."""
    order = [int(v) for v in tuple(p)[:rank]]
    return None if order == list(range(rank)) else order


def _ints(t) -> List[int]:
    return [int(v) for v in (t.tolist() if isinstance(t, torch.Tensor) else t)]


@register("SHUFFLE", "IShuffleLayer")
def shuffle(node: Node):
    layer = node.layer
    rank_in = len(node.in_shapes[0])
    first = _perm(layer.first_transpose, rank_in)
    static = dims(layer.reshape_dims) if not node.has_input(1) else None
    rank_mid = len(static) if static is not None else (len(node.out_shapes[0]) if node.has_input(1) else rank_in)
    second = _perm(layer.second_transpose, rank_mid)
    placeholder = bool(layer.zero_is_placeholder)

    def target(shape: Sequence[int], spec: List[int]) -> List[int]:
        return [shape[i] if (d == 0 and placeholder) else d for i, d in enumerate(spec)]

    def run(x, spec=None):
        if first is not None:
            x = x.permute(first)
        if spec is not None:
            x = x.reshape(target(x.shape, _ints(spec)))
        elif static is not None:
            x = x.reshape(target(x.shape, list(static)))
        if second is not None:
            x = x.permute(second)
        return x
    return run


def _slice_index(start: int, size: int, stride: int, n: int, mode: str):
    """Source indices of one sliced dimension and (for FILL) which of them fall outside."""
    idx = start + torch.arange(size, dtype=torch.int64) * stride
    if mode == "WRAP":
        return torch.remainder(idx, n), None
    if mode == "CLAMP":
        return idx.clamp(0, n - 1), None
    if mode == "REFLECT":
        if n == 1:
            return torch.zeros_like(idx), None
        period = 2 * (n - 1)
        idx = torch.remainder(idx, period)
        return torch.where(idx >= n, period - idx, idx), None
    inside = (idx >= 0) & (idx < n)
    if mode == "FILL":
        return idx.clamp(0, n - 1), inside
    if not bool(inside.all()):
        raise IndexError(f"slice start {start} size {size} stride {stride} leaves a dimension of {n} (STRICT_BOUNDS)")
    return idx, None


@register("SLICE", "ISliceLayer")
def slice_(node: Node):
    layer = node.layer
    mode = layer.mode.name
    # attributes given by an input tensor are not read (TensorRT warns when asked for them)
    start0 = dims(layer.start) if not node.has_input(1) else None
    size0 = dims(layer.shape) if not node.has_input(2) else None
    stride0 = dims(layer.stride) if not node.has_input(3) else None
    axes0 = dims(layer.axes) if not node.has_input(5) else None
    dynamic = any(node.has_input(i) for i in (1, 2, 3, 5))
    if not dynamic and mode == "STRICT_BOUNDS" and axes0 is None and all(s > 0 for s in stride0):
        window = tuple(slice(b, b + (n - 1) * s + 1, s) for b, n, s in zip(start0, size0, stride0))
        return lambda x, *_: x[window]

    def run(x, start=None, size=None, stride=None, fill=None, axes=None):
        rank = x.dim()
        st = _ints(start) if start is not None else list(start0)
        sz = _ints(size) if size is not None else list(size0)
        sd = _ints(stride) if stride is not None else list(stride0)
        if mode == "STRICT_BOUNDS" and axes is None and axes0 is None and all(v > 0 for v in sd) \
                and all(0 <= b and b + (n - 1) * v < m for b, n, v, m in zip(st, sz, sd, x.shape) if n > 0):
            # runtime sizes: the same view as the static window above (so later ops see the same memory layout)
            return x[tuple(slice(b, b + (n - 1) * v + 1, v) for b, n, v in zip(st, sz, sd))]
        ax = _ints(axes) if axes is not None else (list(axes0) if axes0 is not None else list(range(rank)))
        masks = []
        for b, n, s, a in zip(st, sz, sd, ax):
            a %= rank
            idx, inside = _slice_index(b, n, s, x.shape[a], mode)
            if not (s == 1 and b == 0 and n == x.shape[a] and inside is None):
                x = x.index_select(a, idx)
            if inside is not None:
                masks.append(inside.reshape([-1 if d == a else 1 for d in range(rank)]))
        if masks:
            keep = masks[0]
            for m in masks[1:]:
                keep = keep & m
            value = fill.reshape(()) if fill is not None else torch.zeros((), dtype=x.dtype)
            x = torch.where(keep, x, value.to(x.dtype))
        return x
    return run


@register("CONCATENATION", "IConcatenationLayer")
def concatenation(node: Node):
    axis = int(node.layer.axis)
    return lambda *xs: torch.cat(xs, axis)


def _wrap(idx: torch.Tensor, n) -> torch.Tensor:
    idx = idx.long()
    return torch.where(idx < 0, idx + n, idx)


@register("GATHER", "IGatherLayer")
def gather(node: Node):
    layer = node.layer
    mode, axis, nb = layer.mode.name, int(layer.axis), int(layer.num_elementwise_dims)
    if mode == "ELEMENT":
        def element(data, idx):
            if idx.dim() != data.dim() or any(i > d for k, (i, d) in enumerate(zip(idx.shape, data.shape)) if k != axis):
                # TensorRT rejects these shapes at build time; torch.gather would read out of bounds
                raise ValueError(f"ELEMENT gather: indices {tuple(idx.shape)} exceed data {tuple(data.shape)} "
                                 f"outside axis {axis}")
            return torch.gather(data, axis, _wrap(idx, data.shape[axis]))
        return element
    if mode == "ND":
        return lambda data, idx: _gather_nd(data, idx, nb)
    if nb not in (0, 1):
        raise node.unsupported(f"DEFAULT gather with num_elementwise_dims={nb}")

    def default(data, idx):
        ax = axis % data.dim()
        idx = _wrap(idx, data.shape[ax])
        if nb == 0:
            flat = data.index_select(ax, idx.reshape(-1))
            return flat.reshape(data.shape[:ax] + idx.shape + data.shape[ax + 1:])
        return torch.stack([default_one(d, i, ax - 1) for d, i in zip(data, idx)])

    def default_one(data, idx, ax):
        return data.index_select(ax, idx.reshape(-1)).reshape(data.shape[:ax] + idx.shape + data.shape[ax + 1:])
    return default


def _gather_nd(data: torch.Tensor, idx: torch.Tensor, nb: int) -> torch.Tensor:
    k = idx.shape[-1]
    batch = 1
    for d in data.shape[:nb]:
        batch *= d
    flat = data.reshape((batch,) + tuple(data.shape[nb:]))
    ind = idx.long().reshape(batch, -1, k)
    sizes = torch.tensor(flat.shape[1:1 + k], dtype=torch.int64)
    ind = torch.where(ind < 0, ind + sizes, ind)
    rows = torch.arange(batch).reshape(batch, 1)
    out = flat[(rows,) + tuple(ind[..., j] for j in range(k))]
    return out.reshape(tuple(idx.shape[:-1]) + tuple(data.shape[nb + k:]))


@register("SCATTER", "IScatterLayer")
def scatter(node: Node):
    mode, axis = node.layer.mode.name, int(node.layer.axis)
    if mode == "ELEMENT":
        return lambda data, idx, upd: data.scatter(axis, _wrap(idx, data.shape[axis]), upd)

    def scatter_nd(data, idx, upd):
        out = data.clone()
        k = idx.shape[-1]
        ind = idx.long()
        out[tuple(_wrap(ind[..., j], data.shape[j]) for j in range(k))] = upd
        return out
    return scatter_nd


@register("CONSTANT", "IConstantLayer")
def constant(node: Node):
    value = weights_tensor(node.layer.weights, dims(node.layer.shape))
    shape = dims(node.layer.shape)
    if value is None:
        value = torch.zeros(shape, dtype=node.out_dtypes[0])
    value = value.to(node.out_dtypes[0]).contiguous()
    return lambda: value


@register("SHAPE", "IShapeLayer")
def shape(node: Node):
    dtype = node.out_dtypes[0]
    return lambda x: torch.tensor(x.shape, dtype=dtype)


@register("FILL", "IFillLayer")
def fill(node: Node):
    layer = node.layer
    op, dtype = layer.operation.name, node.out_dtypes[0]
    shape0 = dims(layer.shape) if not node.has_input(0) else None
    alpha0 = float(layer.alpha) if not node.has_input(1) else None
    beta0 = float(layer.beta) if not node.has_input(2) else None

    def run(shape=None, alpha=None, beta=None):
        size = _ints(shape) if shape is not None else list(shape0)
        a = alpha if alpha is not None else torch.tensor(alpha0)
        b = beta if beta is not None else torch.tensor(beta0)
        if op == "LINSPACE":
            work = torch.float64 if dtype in FLOATS else torch.int64
            out = torch.zeros(size, dtype=work) + a.to(work)
            steps = b.to(work).reshape(-1)
            for d in range(len(size)):
                step = steps[d] if steps.numel() > 1 else steps[0]
                ramp = torch.arange(size[d], dtype=work) * step
                out = out + ramp.reshape([-1 if i == d else 1 for i in range(len(size))])
            return out.to(dtype)
        if op == "RANDOM_UNIFORM":
            return (torch.rand(size, dtype=torch.float64) * (b - a).double() + a.double()).to(dtype)
        if op == "RANDOM_NORMAL":
            return (torch.randn(size, dtype=torch.float64) * b.double() + a.double()).to(dtype)
        raise node.unsupported(f"fill operation {op}")
    return run


@register("PADDING", "IPaddingLayer")
def padding(node: Node):
    pre, post = dims(node.layer.pre_padding_nd), dims(node.layer.post_padding_nd)
    flat: List[int] = []
    for a, b in zip(reversed(pre), reversed(post)):
        flat += [a, b]
    return lambda x: F.pad(x, flat)


@register("SQUEEZE", "ISqueezeLayer")
def squeeze(node: Node):
    def run(x, axes):
        return x.squeeze(tuple(a % x.dim() for a in _ints(axes)))
    return run


@register("UNSQUEEZE", "IUnsqueezeLayer")
def unsqueeze(node: Node):
    def run(x, axes):
        ax = _ints(axes)
        rank = x.dim() + len(ax)
        for a in sorted(a % rank for a in ax):
            x = x.unsqueeze(a)
        return x
    return run


@register("ONE_HOT", "IOneHotLayer")
def one_hot(node: Node):
    axis = int(node.layer.axis)

    def run(idx, values, depth):
        d = int(depth)
        idx = _wrap(idx, d)
        valid = (idx >= 0) & (idx < d)
        hot = F.one_hot(idx.clamp(0, d - 1), d).bool() & valid.unsqueeze(-1)
        out = torch.where(hot, values[1], values[0])
        return out.movedim(-1, axis % out.dim())
    return run


@register("NON_ZERO", "INonZeroLayer")
def non_zero(node: Node):
    dtype = node.out_dtypes[0]
    return lambda x: torch.nonzero(x).T.to(dtype).contiguous()


@register("REVERSE_SEQUENCE", "IReverseSequenceLayer")
def reverse_sequence(node: Node):
    b_ax, s_ax = int(node.layer.batch_axis), int(node.layer.sequence_axis)

    def run(x, lens):
        out = x.clone()
        for b, n in enumerate(_ints(lens)):
            src = x.select(b_ax, b)
            ax = s_ax - (1 if s_ax > b_ax else 0)
            out.select(b_ax, b).narrow(ax, 0, n).copy_(src.narrow(ax, 0, n).flip(ax))
        return out
    return run
