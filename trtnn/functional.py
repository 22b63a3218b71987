"""trtnn.functional: torch.nn.functional's names, arguments and semantics, emitted as TensorRT layers.

Every op takes trtnn Tensors (plus Python scalars / torch / numpy constants where torch allows them) and
returns trtnn Tensors. Layers are named `module.path:op` by the tensors' build context.
"""
from __future__ import annotations

import builtins
import math
from collections import namedtuple
from typing import Any, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from . import dtypes
from .errors import ShapeError, UnsupportedError
from .parameter import Parameter
from .tensor import Tensor

IntOrPair = Union[int, Sequence[int]]
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])
_TOPK_MAX_K = 3840


# ---- helpers -----------------------------------------------------------------------------------------
def _trt(x: Tensor) -> Any:
    return x.ctx.trt


def _out(layer: Any, ctx: Any, i: int = 0) -> Tensor:
    if i == 0:
        ctx.check(layer)
    return Tensor(layer.get_output(i), ctx)


def _value(w: Any) -> torch.Tensor:
    """A constant's value as a CPU torch tensor (Parameter, torch, numpy or Python number)."""
    if isinstance(w, Parameter):
        return w.data
    if isinstance(w, torch.Tensor):
        return w.detach().cpu()
    return torch.as_tensor(np.asarray(w))


def constant(value: Any, like: Tensor, dtype: Any = None) -> Tensor:
    """`value` as a constant of `like`'s network (and dtype, unless `dtype` is given)."""
    return like.ctx.constant(_value(value), dtype if dtype is not None else like.dtype)


def _lift(x: Any, like: Tensor) -> Tensor:
    """A Tensor as is; a Python number / array as a constant of `like`'s dtype (float for a float number)."""
    if isinstance(x, Tensor):
        return x
    v = _value(x)
    dt = like.dtype
    if v.dtype.is_floating_point and not dt.is_floating_point:
        dt = torch.float32
    return like.ctx.constant(v, dt)


def _pair(v: IntOrPair, n: int = 2) -> Tuple[int, ...]:
    if isinstance(v, (list, tuple)):
        if len(v) != n:
            raise ShapeError(f"expected {n} values, got {tuple(v)}")
        return tuple(int(a) for a in v)
    return (int(v),) * n


def _dim(d: int, ndim: int, what: str = "dim") -> int:
    if not -builtins.max(ndim, 1) <= d < builtins.max(ndim, 1):
        raise ShapeError(f"{what} {d} out of range for a tensor of rank {ndim}")
    return d % builtins.max(ndim, 1)


def _dims(dim: Any, ndim: int) -> List[int]:
    if dim is None:
        return list(range(ndim))
    ds = [dim] if isinstance(dim, int) else list(dim)
    return sorted({_dim(d, ndim) for d in ds})


def _mask(dims: Sequence[int]) -> int:
    m = 0
    for d in dims:
        m |= 1 << d
    return m


def _static(x: Tensor, what: str, dims: Optional[Sequence[int]] = None) -> Tuple[int, ...]:
    """x.shape, after checking that `dims` (default: all) are static."""
    if any(x.shape[d] < 0 for d in (range(x.ndim) if dims is None else dims)):
        which = "a static shape" if dims is None else f"static dims {tuple(dims)}"
        raise UnsupportedError(f"{what} needs {which}; tensor '{x.name}' has shape {x.shape}")
    return x.shape


def _dynamic(x: Tensor) -> bool:
    return builtins.min(x.shape, default=0) < 0


# A shape spec is a list of ints and ("d", j) items: ("d", j) is x's dim j, known only when the engine runs.
Spec = List[Union[int, Tuple[str, int]]]


def _spec(x: Tensor) -> Spec:
    """x's own shape as a spec: static dims as ints, dynamic ones as references."""
    return [s if s >= 0 else ("d", i) for i, s in enumerate(x.shape)]


def _is_ref(item: Any) -> bool:
    return isinstance(item, tuple)


def _shape_vector(x: Tensor, spec: Spec) -> Tensor:
    """An int64 shape tensor for `spec`, reading x's dynamic dims at run time."""
    dims = _out(x.ctx.add("shape", "add_shape", x.use()), x.ctx)
    picked = index_select(dims, 0, [item[1] if _is_ref(item) else 0 for item in spec])
    return where(torch.tensor([_is_ref(item) for item in spec]), picked,
                 torch.tensor([0 if _is_ref(item) else item for item in spec], dtype=torch.int64))


def cast(x: Tensor, dtype: Any) -> Tensor:
    dt = dtypes.to_torch(dtype)
    if x.dtype == dt:
        return x
    return _out(x.ctx.add(f"cast_{dtypes.short(dt)}", "add_cast", x.use(), dtypes.to_trt(dt)), x.ctx)


def _unsqueeze_front(x: Tensor, n: int) -> Tensor:
    return x if n == 0 else reshape(x, (1,) * n + x.shape) if builtins.min(x.shape, default=0) >= 0 else _dyn_unsqueeze(x, list(range(n)))


def _dyn_unsqueeze(x: Tensor, axes: List[int]) -> Tensor:
    ax = x.ctx.constant(torch.tensor(axes, dtype=torch.int64))
    return _out(x.ctx.add("unsqueeze", "add_unsqueeze", x.use(), ax.use()), x.ctx)


def _broadcast(*xs: Any) -> List[Tensor]:
    """Lift constants (at the common rank), promote dtypes, align ranks (TensorRT needs equal ranks), check sizes."""
    tensors = [x for x in xs if isinstance(x, Tensor)]
    like = tensors[0]
    rank = builtins.max([t.ndim for t in tensors] + [_value(x).dim() for x in xs if not isinstance(x, Tensor)])
    ts = []
    for x in xs:
        if not isinstance(x, Tensor):
            v = _value(x)
            x = _lift(v.reshape((1,) * (rank - v.dim()) + tuple(v.shape)), like)
        ts.append(x)
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = dtypes.promote(dt, t.dtype)
    ts = [_unsqueeze_front(cast(t, dt), rank - t.ndim) for t in ts]
    for i in range(rank):
        sizes = {t.shape[i] for t in ts} - {1}
        if len(sizes - {-1}) > 1:
            shapes = ", ".join(f"'{t.name}' {t.shape}" for t in ts)
            raise ShapeError(f"shapes cannot be broadcast together at dim {i}: {shapes}")
    return ts


def _elementwise(a: Any, b: Any, op: str, kind: str) -> Tensor:
    x, y = _broadcast(a, b)
    return _out(x.ctx.add(op, "add_elementwise", x.use(), y.use(), getattr(_trt(x).ElementWiseOperation, kind)), x.ctx)


# ---- arithmetic and comparison --------------------------------------------------------------------------
def add(a: Any, b: Any, alpha: float = 1) -> Tensor:
    return _elementwise(a, b if alpha == 1 else mul(b, alpha), "add", "SUM")


def sub(a: Any, b: Any, alpha: float = 1) -> Tensor:
    return _elementwise(a, b if alpha == 1 else mul(b, alpha), "sub", "SUB")


def mul(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "mul", "PROD")


def div(a: Any, b: Any, rounding_mode: Optional[str] = None) -> Tensor:
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode is not None:
        raise UnsupportedError(f"div rounding_mode={rounding_mode!r} is not supported (None or 'floor')")
    x, y = _broadcast(a, b)
    if not x.dtype.is_floating_point:  # torch's true division of integers gives float32
        x, y = cast(x, torch.float32), cast(y, torch.float32)
    return _elementwise(x, y, "div", "DIV")


def floor_divide(a: Any, b: Any) -> Tensor:
    x, y = _broadcast(a, b)
    if x.dtype.is_floating_point:
        return floor(div(x, y))
    return _elementwise(x, y, "floor_div", "FLOOR_DIV")


def pow(input: Any, exponent: Any) -> Tensor:  # noqa: A001
    return _elementwise(input, exponent, "pow", "POW")


def maximum(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "maximum", "MAX")


def minimum(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "minimum", "MIN")


def eq(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "eq", "EQUAL")


def gt(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "gt", "GREATER")


def lt(a: Any, b: Any) -> Tensor:
    return _elementwise(a, b, "lt", "LESS")


def ne(a: Any, b: Any) -> Tensor:
    return logical_not(eq(a, b))


def ge(a: Any, b: Any) -> Tensor:  # not "not lt": comparisons with NaN are False, as in torch
    return logical_or(gt(a, b), eq(a, b))


def le(a: Any, b: Any) -> Tensor:
    return logical_or(lt(a, b), eq(a, b))


def _logical(a: Any, b: Any, op: str, kind: str) -> Tensor:
    x, y = _broadcast(a, b)
    return _elementwise(cast(x, torch.bool), cast(y, torch.bool), op, kind)


def logical_and(a: Any, b: Any) -> Tensor:
    return _logical(a, b, "and", "AND")


def logical_or(a: Any, b: Any) -> Tensor:
    return _logical(a, b, "or", "OR")


def logical_xor(a: Any, b: Any) -> Tensor:
    return _logical(a, b, "xor", "XOR")


def where(condition: Any, input: Any, other: Any) -> Tensor:
    x, y = _broadcast(input, other)
    c = cast(_lift(condition, x), torch.bool)
    rank = builtins.max(c.ndim, x.ndim)
    c, x, y = (_unsqueeze_front(t, rank - t.ndim) for t in (c, x, y))
    return _out(x.ctx.add("where", "add_select", c.use(), x.use(), y.use()), x.ctx)


# ---- unary ------------------------------------------------------------------------------------------------
def _unary(x: Tensor, op: str, kind: str) -> Tensor:
    return _out(x.ctx.add(op, "add_unary", x.use(), getattr(_trt(x).UnaryOperation, kind)), x.ctx)


def _float_unary(x: Tensor, op: str, kind: str) -> Tensor:
    return _unary(x if x.dtype.is_floating_point else cast(x, torch.float32), op, kind)


def exp(x: Tensor) -> Tensor: return _float_unary(x, "exp", "EXP")
def log(x: Tensor) -> Tensor: return _float_unary(x, "log", "LOG")
def sqrt(x: Tensor) -> Tensor: return _float_unary(x, "sqrt", "SQRT")
def reciprocal(x: Tensor) -> Tensor: return _float_unary(x, "reciprocal", "RECIP")
def rsqrt(x: Tensor) -> Tensor: return reciprocal(sqrt(x))
def sin(x: Tensor) -> Tensor: return _float_unary(x, "sin", "SIN")
def cos(x: Tensor) -> Tensor: return _float_unary(x, "cos", "COS")
def tan(x: Tensor) -> Tensor: return _float_unary(x, "tan", "TAN")
def erf(x: Tensor) -> Tensor: return _float_unary(x, "erf", "ERF")
def floor(x: Tensor) -> Tensor: return x if not x.dtype.is_floating_point else _unary(x, "floor", "FLOOR")
def ceil(x: Tensor) -> Tensor: return x if not x.dtype.is_floating_point else _unary(x, "ceil", "CEIL")
def round(x: Tensor) -> Tensor: return x if not x.dtype.is_floating_point else _unary(x, "round", "ROUND")  # noqa: A001
def abs(x: Tensor) -> Tensor: return _unary(x, "abs", "ABS")  # noqa: A001
def neg(x: Tensor) -> Tensor: return _unary(x, "neg", "NEG")
def sign(x: Tensor) -> Tensor: return _unary(x, "sign", "SIGN")
def logical_not(x: Tensor) -> Tensor: return _unary(cast(x, torch.bool), "not", "NOT")


def clamp(input: Tensor, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
    if min is None and max is None:
        raise ShapeError("clamp: at least one of min and max must be given")
    if input.dtype.is_floating_point and isinstance(min, (int, float)) and isinstance(max, (int, float)):
        return _activation(input, "clamp", "CLIP", alpha=float(min), beta=float(max))
    y = input if min is None else maximum(input, min)
    return y if max is None else minimum(y, max)


clip = clamp


# ---- activations -------------------------------------------------------------------------------------------
def _activation(x: Tensor, op: str, kind: str, alpha: Optional[float] = None, beta: Optional[float] = None) -> Tensor:
    if not x.dtype.is_floating_point:
        raise UnsupportedError(f"{op} needs a floating-point tensor; '{x.name}' is {dtypes.short(x.dtype)}")
    layer = x.ctx.add(op, "add_activation", x.use(), getattr(_trt(x).ActivationType, kind))
    if alpha is not None:
        layer.alpha = alpha
    if beta is not None:
        layer.beta = beta
    return _out(layer, x.ctx)


def relu(input: Tensor, inplace: bool = False) -> Tensor: return _activation(input, "relu", "RELU")
def relu6(input: Tensor, inplace: bool = False) -> Tensor: return _activation(input, "relu6", "CLIP", 0.0, 6.0)
def sigmoid(input: Tensor) -> Tensor: return _activation(input, "sigmoid", "SIGMOID")
def tanh(input: Tensor) -> Tensor: return _activation(input, "tanh", "TANH")
def selu(input: Tensor, inplace: bool = False) -> Tensor:
    return _activation(input, "selu", "SELU", 1.6732632423543772, 1.0507009873554805)
def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    return _activation(input, "hardtanh", "CLIP", min_val, max_val)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    return _activation(input, "leaky_relu", "LEAKY_RELU", negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    return _activation(input, "elu", "ELU", alpha)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    return _activation(input, "softplus", "SOFTPLUS", 1.0 / beta, beta)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    return _activation(input, "hardsigmoid", "HARD_SIGMOID", 1.0 / 6.0, 0.5)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    return mul(input, sigmoid(input))


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    return mul(input, hardsigmoid(input))


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    return mul(input, tanh(softplus(input)))


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    if approximate not in ("none", "tanh"):
        raise UnsupportedError(f"gelu approximate={approximate!r}; expected 'none' or 'tanh'")
    return _activation(input, "gelu", "GELU_ERF" if approximate == "none" else "GELU_TANH")


def softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    x = input if dtype is None else cast(input, dtype)
    return _out(x.ctx.add("softmax", "add_softmax", x.use(), axes=1 << _dim(dim, x.ndim)), x.ctx)


def log_softmax(input: Tensor, dim: int, dtype: Any = None) -> Tensor:
    x = input if dtype is None else cast(input, dtype)
    shifted = sub(x, amax(x, dim, keepdim=True))
    return sub(shifted, log(sum(exp(shifted), dim, keepdim=True)))


def dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    return input


# ---- shape manipulation -------------------------------------------------------------------------------------
def _shuffle(x: Tensor, op: str, first=None, dims=None, second=None, zero_placeholder: bool = True) -> Tensor:
    layer = x.ctx.add(op, "add_shuffle", x.use())
    if first is not None:
        layer.first_transpose = tuple(first)
    if dims is not None:
        layer.zero_is_placeholder = zero_placeholder
        layer.reshape_dims = tuple(dims)
    if second is not None:
        layer.second_transpose = tuple(second)
    return _out(layer, x.ctx)


def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    """torch's reshape/view. With dynamic dims, a -1 at the index of a dynamic input dim copies that dim when more
    than one -1 is given, so `x.view(x.shape[0], -1)` works for a dynamic batch."""
    shape = tuple(int(s) for s in shape)
    if _dynamic(input):
        spec: Spec = list(shape)
        if shape.count(-1) > 1:
            spec = [("d", i) if v == -1 and i < input.ndim and input.shape[i] < 0 else v for i, v in enumerate(shape)]
        if builtins.sum(1 for v in spec if v == -1) > 1:
            raise ShapeError(f"reshape of '{input.name}' {input.shape} to {shape}: only one dimension can be inferred")
        return _reshape(input, spec)
    if shape.count(-1) > 1:
        raise ShapeError(f"reshape of '{input.name}' {input.shape} to {shape}: only one dimension can be -1")
    n, known = input.numel(), int(np.prod([s for s in shape if s != -1], dtype=np.int64))
    if -1 in shape:
        if known == 0 or n % known:
            raise ShapeError(f"shape {shape} is invalid for tensor '{input.name}' of shape {input.shape}")
        shape = tuple(n // known if s == -1 else s for s in shape)
    if int(np.prod(shape, dtype=np.int64)) != n:
        raise ShapeError(f"shape {shape} is invalid for tensor '{input.name}' of shape {input.shape}")
    return input if shape == input.shape else _reshape(input, list(shape))


def _reshape(x: Tensor, spec: Spec) -> Tensor:
    if not any(_is_ref(v) for v in spec):
        return _shuffle(x, "reshape", dims=tuple(spec), zero_placeholder=False)
    layer = x.ctx.add("reshape", "add_shuffle", x.use())
    layer.zero_is_placeholder = False
    layer.set_input(1, _shape_vector(x, spec).use())
    return _out(layer, x.ctx)


view = reshape


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    perm = [_dim(d, input.ndim) for d in dims]
    if sorted(perm) != list(range(input.ndim)):
        raise ShapeError(f"permute dims {tuple(dims)} are not a permutation of the {input.ndim} dims of '{input.name}'")
    return _shuffle(input, "permute", first=perm)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    perm = list(range(input.ndim))
    a, b = _dim(dim0, input.ndim), _dim(dim1, input.ndim)
    perm[a], perm[b] = perm[b], perm[a]
    return _shuffle(input, "transpose", first=perm)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if input.ndim == 0:
        return reshape(input, (1,))
    s, e = _dim(start_dim, input.ndim), _dim(end_dim, input.ndim)
    shp, spec = input.shape, _spec(input)
    merged = -1 if builtins.min(shp[s:e + 1]) < 0 else int(np.prod(shp[s:e + 1], dtype=np.int64))
    if not _dynamic(input):
        return reshape(input, shp[:s] + (merged,) + shp[e + 1:])
    return _reshape(input, spec[:s] + [merged] + spec[e + 1:])


def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    shp = input.shape
    dims = [i for i, s in enumerate(shp) if s == 1] if dim is None else [d for d in _dims(dim, input.ndim) if shp[d] == 1]
    kept = [v for i, v in enumerate(_spec(input)) if i not in dims]
    return reshape(input, kept) if not _dynamic(input) else _reshape(input, kept)


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    d = _dim(dim, input.ndim + 1)
    if builtins.min(input.shape, default=0) < 0:
        return _dyn_unsqueeze(input, [d])
    shp = list(input.shape)
    shp.insert(d, 1)
    return reshape(input, shp)


def expand(input: Tensor, sizes: Sequence[int]) -> Tensor:
    x = _unsqueeze_front(input, len(sizes) - input.ndim)
    shp = x.shape
    out = [v if n == -1 else n for v, n in zip(_spec(x), sizes)]
    for s, n in zip(shp, out):
        if s != 1 and s != n and not _is_ref(n):
            raise ShapeError(f"expand of '{input.name}' {input.shape} to {tuple(sizes)}: size {s} cannot become {n}")
    stride = tuple(0 if s == 1 and n != 1 else 1 for s, n in zip(shp, out))
    return _slice(x, "expand", (0,) * x.ndim, out, stride)


def expand_as(input: Tensor, other: Tensor) -> Tensor:
    """torch's expand_as: size-1 dims of `input` broadcast to `other`'s sizes, dynamic ones included."""
    x = _unsqueeze_front(input, other.ndim - input.ndim)
    out = _spec(other)
    for s, n in zip(x.shape, other.shape):
        if s != 1 and s != n:
            raise ShapeError(f"expand_as: '{input.name}' {input.shape} cannot be expanded to '{other.name}' {other.shape}")
    stride = tuple(0 if s == 1 and n != 1 else 1 for s, n in zip(x.shape, other.shape))
    return _slice(x, "expand_as", (0,) * x.ndim, out, stride, dims_of=other)


def _slice(x: Tensor, op: str, start, shape: Spec, stride, mode: Optional[str] = None, fill: Any = None,
           dims_of: Optional[Tensor] = None) -> Tensor:
    """A slice layer; `shape` items may reference dynamic dims of x (or of `dims_of`)."""
    layer = x.ctx.add(op, "add_slice", x.use(), tuple(start), tuple(0 if _is_ref(v) else v for v in shape),
                      tuple(stride))
    if any(_is_ref(v) for v in shape):
        layer.set_input(2, _shape_vector(x if dims_of is None else dims_of, shape).use())
    if mode is not None:
        layer.mode = getattr(_trt(x).SampleMode, mode)
    if fill is not None:
        layer.set_input(4, x.ctx.constant(torch.tensor(fill), x.dtype).use())
    return _out(layer, x.ctx)


def narrow(input: Tensor, dim: int, start: int, length: int) -> Tensor:
    d = _dim(dim, input.ndim)
    shp = _static(input, "narrow", [d])
    start = start + shp[d] if start < 0 else start
    if start < 0 or length < 0 or start + length > shp[d]:
        raise ShapeError(f"narrow of '{input.name}' dim {d} (size {shp[d]}): start {start} + length {length} out of range")
    begin, size = [0] * input.ndim, _spec(input)
    begin[d], size[d] = start, length
    return _slice(input, "slice", begin, size, [1] * input.ndim)


def split(tensor: Tensor, split_size_or_sections: Union[int, Sequence[int]], dim: int = 0) -> List[Tensor]:
    d = _dim(dim, tensor.ndim)
    n = _static(tensor, "split", [d])[d]
    if isinstance(split_size_or_sections, int):
        step = split_size_or_sections
        if step <= 0:
            raise ShapeError(f"split size must be positive, got {step}")
        sizes = [builtins.min(step, n - i) for i in range(0, n, step)] or [0]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ShapeError(f"split sections {sizes} do not sum to size {n} of dim {d} of '{tensor.name}'")
    out, pos = [], 0
    for s in sizes:
        out.append(narrow(tensor, d, pos, s))
        pos += s
    return out


def chunk(input: Tensor, chunks: int, dim: int = 0) -> List[Tensor]:
    n = _static(input, "chunk", [_dim(dim, input.ndim)])[_dim(dim, input.ndim)]
    if chunks <= 0:
        raise ShapeError(f"chunk expects a positive number of chunks, got {chunks}")
    return split(input, builtins.max(1, math.ceil(n / chunks)), dim)


def unbind(input: Tensor, dim: int = 0) -> List[Tensor]:
    d = _dim(dim, input.ndim)
    return [squeeze(t, d) for t in split(input, 1, d)]


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    ts = [t for t in tensors]
    if not ts:
        raise ShapeError("cat expects a non-empty list of tensors")
    if len(ts) == 1:
        return ts[0]
    dt = ts[0].dtype
    for t in ts[1:]:
        dt = dtypes.promote(dt, t.dtype)
    ts = [cast(t, dt) for t in ts]
    d = _dim(dim, ts[0].ndim)
    for t in ts[1:]:
        if t.ndim != ts[0].ndim or any(a != b for i, (a, b) in enumerate(zip(t.shape, ts[0].shape)) if i != d):
            shapes = ", ".join(f"'{x.name}' {x.shape}" for x in ts)
            raise ShapeError(f"cat along dim {d}: shapes must match except in that dim, got {shapes}")
    return _out(ts[0].ctx.add("cat", "add_concatenation", [t.use() for t in ts], axis=d), ts[0].ctx)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    d = _dim(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def getitem(x: Tensor, index: Any) -> Tensor:
    """Basic indexing: ints (negative too), slices with positive steps, None, Ellipsis; 1-D index tensors/lists."""
    idx = list(index) if isinstance(index, tuple) else [index]
    n_real = builtins.sum(1 for i in idx if i is not None and i is not Ellipsis)
    if builtins.sum(1 for i in idx if i is Ellipsis) > 1:
        raise ShapeError("an index can only have a single ellipsis ('...')")
    if Ellipsis in idx:
        e = idx.index(Ellipsis)
        idx[e:e + 1] = [slice(None)] * (x.ndim - n_real)
    elif n_real < x.ndim:
        idx += [slice(None)] * (x.ndim - n_real)
    if n_real > x.ndim:
        raise ShapeError(f"too many indices for tensor '{x.name}' of rank {x.ndim}")
    shp = x.shape
    start, size, stride, out_shape, gathers = [], [], [], [], []
    d = 0
    for i in idx:
        if i is None:
            out_shape.append(1)
            continue
        n = shp[d]
        if n < 0:  # a dynamic dim: only taken whole
            if not (isinstance(i, slice) and i == slice(None)):
                raise UnsupportedError(f"indexing dim {d} of '{x.name}' {shp} with {i!r}: the dim is dynamic; only ':'")
            start.append(0), size.append(("d", d)), stride.append(1), out_shape.append(("d", d))
        elif isinstance(i, (Tensor, list, np.ndarray, torch.Tensor)):
            gathers.append((d, i, len(out_shape)))
            start.append(0), size.append(n), stride.append(1), out_shape.append(n)
        elif isinstance(i, slice):
            b, e, st = i.indices(n)
            if (i.step or 1) <= 0:
                raise ShapeError("step must be greater than zero")
            cnt = builtins.max(0, math.ceil((e - b) / st))
            start.append(b if cnt else 0), size.append(cnt), stride.append(st), out_shape.append(cnt)
        else:
            k = int(i)
            if not -n <= k < n:
                raise ShapeError(f"index {k} is out of bounds for dimension {d} with size {n} of tensor '{x.name}'")
            start.append(k % n), size.append(1), stride.append(1)
        d += 1
    y = x
    if tuple(start) != (0,) * x.ndim or tuple(size) != tuple(_spec(x)) or tuple(stride) != (1,) * x.ndim:
        y = _slice(x, "getitem", start, size, stride)
    if out_shape != _spec(y):
        y = _reshape(y, out_shape) if any(_is_ref(v) for v in out_shape) else reshape(y, out_shape)
    for dim, i, pos in gathers:
        y = index_select(y, pos, i)
    return y


def index_select(input: Tensor, dim: int, index: Any) -> Tensor:
    d = _dim(dim, input.ndim)
    if isinstance(index, Tensor):
        idx = cast(index, torch.int32)
    else:
        v = _value(index).to(torch.int64)
        n = input.shape[d]
        if v.dim() != 1 or (n >= 0 and (v.min() < -n or v.max() >= n)):
            raise ShapeError(f"index_select on dim {d} (size {n}) of '{input.name}': bad index {v.tolist()}")
        idx = input.ctx.constant(torch.where(v < 0, v + n, v).to(torch.int32))
    return _out(input.ctx.add("index_select", "add_gather", input.use(), idx.use(), d), input.ctx)


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """torch.gather: out[i][j] = input[index[i][j]][j] (dim 0), element-wise gather."""
    d = _dim(dim, input.ndim)
    idx = cast(index if isinstance(index, Tensor) else constant(index, input, torch.int32), torch.int32)
    layer = input.ctx.add("gather", "add_gather", input.use(), idx.use(), d)
    layer.mode = _trt(input).GatherMode.ELEMENT
    return _out(layer, input.ctx)


# ---- reductions ---------------------------------------------------------------------------------------------
def _reduce(x: Tensor, dim: Any, keepdim: bool, op: str, kind: str) -> Tensor:
    dims = _dims(dim, x.ndim)
    if not dims:
        return x
    layer = x.ctx.add(op, "add_reduce", x.use(), getattr(_trt(x).ReduceOperation, kind), _mask(dims), keepdim)
    return _out(layer, x.ctx)


def sum(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:  # noqa: A001
    x = cast(input, torch.int64) if input.dtype in (torch.bool, torch.uint8, torch.int8, torch.int32) else input
    return _reduce(x, dim, keepdim, "sum", "SUM")


def mean(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    if not input.dtype.is_floating_point:
        raise UnsupportedError(f"mean needs a floating-point tensor; '{input.name}' is {dtypes.short(input.dtype)}")
    return _reduce(input, dim, keepdim, "mean", "AVG")


def prod(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _reduce(input, dim, keepdim, "prod", "PROD")


def amax(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _reduce(input, dim, keepdim, "amax", "MAX")


def amin(input: Tensor, dim: Any = None, keepdim: bool = False) -> Tensor:
    return _reduce(input, dim, keepdim, "amin", "MIN")


def max(input: Tensor, dim: Optional[int] = None, keepdim: bool = False):  # noqa: A001
    """Like torch.max: the overall maximum, or (values, indices) along `dim`."""
    if dim is None:
        return amax(input)
    values, indices = topk(input, 1, dim, largest=True)
    return ValuesIndices(values, indices) if keepdim else ValuesIndices(squeeze(values, dim), squeeze(indices, dim))


def min(input: Tensor, dim: Optional[int] = None, keepdim: bool = False):  # noqa: A001
    if dim is None:
        return amin(input)
    values, indices = topk(input, 1, dim, largest=False)
    return ValuesIndices(values, indices) if keepdim else ValuesIndices(squeeze(values, dim), squeeze(indices, dim))


def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> ValuesIndices:  # noqa: A002
    """torch.topk; indices are int64 like torch's. TensorRT allows k <= 3840 on one of the last four dims."""
    d = _dim(dim, input.ndim)
    n = input.shape[d]
    if k > _TOPK_MAX_K:
        raise UnsupportedError(f"topk k={k} exceeds TensorRT's limit of {_TOPK_MAX_K}")
    if n >= 0 and k > n:
        raise ShapeError(f"topk k={k} is larger than dim {d} (size {n}) of '{input.name}'")
    if input.ndim - d > 4:
        raise UnsupportedError(f"topk over dim {d} of a rank-{input.ndim} tensor: TensorRT reduces one of the last four dims")
    if input.ndim == 1:  # TensorRT's TopK needs rank >= 2
        values, indices = topk(unsqueeze(input, 0), k, 1, largest, sorted)
        return ValuesIndices(squeeze(values, 0), squeeze(indices, 0))
    x = input.ctx
    kind = _trt(input).TopKOperation.MAX if largest else _trt(input).TopKOperation.MIN
    layer = x.add("topk", "add_topk", input.use(), kind, int(k), 1 << d)
    return ValuesIndices(_out(layer, x, 0), cast(_out(layer, x, 1), torch.int64))


def argmax(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return reshape(topk(reshape(input, (1, -1)), 1, 1).indices, ())
    return max(input, dim, keepdim).indices


def argmin(input: Tensor, dim: Optional[int] = None, keepdim: bool = False) -> Tensor:
    if dim is None:
        return reshape(topk(reshape(input, (1, -1)), 1, 1, largest=False).indices, ())
    return min(input, dim, keepdim).indices


# ---- linear algebra -----------------------------------------------------------------------------------------
def matmul(input: Tensor, other: Any) -> Tensor:
    """torch.matmul: 1-D operands become matrices (and the added dim is removed), batch dims broadcast."""
    a = input
    b = _lift(other, a)
    dt = dtypes.promote(a.dtype, b.dtype)
    a, b = cast(a, dt), cast(b, dt)
    if a.ndim == 0 or b.ndim == 0:
        raise ShapeError("matmul: both arguments need at least 1 dimension")
    vec_a, vec_b = a.ndim == 1, b.ndim == 1
    a = unsqueeze(a, 0) if vec_a else a
    b = unsqueeze(b, 1) if vec_b else b
    if a.shape[-1] >= 0 and b.shape[-2] >= 0 and a.shape[-1] != b.shape[-2]:
        raise ShapeError(f"matmul: '{input.name}' {input.shape} and '{b.name}' {b.shape} cannot be multiplied "
                         f"({a.shape[-1]} != {b.shape[-2]})")
    rank = builtins.max(a.ndim, b.ndim)
    a, b = _unsqueeze_front(a, rank - a.ndim), _unsqueeze_front(b, rank - b.ndim)
    none = _trt(a).MatrixOperation.NONE
    y = _out(a.ctx.add("matmul", "add_matrix_multiply", a.use(), none, b.use(), none), a.ctx)
    if vec_a:
        y = squeeze(y, -2)
    return squeeze(y, -1) if vec_b else y


def linear(input: Tensor, weight: Any, bias: Any = None) -> Tensor:
    w = _value(weight)
    if w.dim() != 2 or (input.shape[-1] >= 0 and w.shape[1] != input.shape[-1]):
        raise ShapeError(f"linear: input '{input.name}' {input.shape} does not fit weight of shape {tuple(w.shape)}")
    x = unsqueeze(input, 0) if input.ndim == 1 else input
    wt = input.ctx.constant(w.reshape((1,) * (x.ndim - 2) + tuple(w.shape)), input.dtype, op="weight")
    mo = _trt(input).MatrixOperation
    y = _out(input.ctx.add("linear", "add_matrix_multiply", x.use(), mo.NONE, wt.use(), mo.TRANSPOSE), input.ctx)
    y = squeeze(y, 0) if input.ndim == 1 else y
    return y if bias is None else add(y, _value(bias))


# ---- convolution --------------------------------------------------------------------------------------------
class _ConvRecord:
    """What a following BatchNorm needs to fold itself into a convolution."""

    __slots__ = ("layer", "weight", "bias", "emit", "folded")

    def __init__(self, layer: Any, weight: torch.Tensor, bias: Optional[torch.Tensor], emit: Any) -> None:
        self.layer, self.weight, self.bias, self.emit, self.folded = layer, weight, bias, emit, False


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
    # A BatchNorm may still be folded into this convolution: the layer gets free placeholders until the forward
    # pass is over, then the weights in the compute dtype unless the fold replaced them. So the network never
    # holds both the original and the folded weights (a checkpoint's tensors are freed with the model).
    layer = emit(ctx.placeholder(w_val.numel(), dt), typed(None) if b_val is None else ctx.placeholder(b_val.numel(), dt))
    y = _out(layer, ctx)
    rec = _ConvRecord(layer, w_val, b_val, lambda: emit(typed(w_val), typed(b_val)).get_output(0))
    y._conv = rec

    def set_weights() -> None:
        if not rec.folded:
            layer.kernel = typed(w_val)
            if b_val is not None:
                layer.bias = typed(b_val)

    ctx.defer(set_weights)
    return y


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
    layer = ctx.add("deconv", "add_deconvolution_nd", input.use(), out_per_group * groups, (kh, kw), ctx.weights(w, dt),
                    ctx.weights(_value(bias), dt) if bias is not None and not extra[0] and not extra[1] else ctx.trt.Weights(dtypes.to_trt(dt)))
    layer.stride_nd, layer.dilation_nd, layer.num_groups = stride, dilation, groups
    layer.pre_padding, layer.post_padding = padding, tuple(builtins.max(p, 0) for p in post)
    y = _out(layer, ctx)
    if extra[0] or extra[1]:
        y = pad(y, (0, extra[1], 0, extra[0]))
        if bias is not None:
            y = add(y, _value(bias).reshape(1, -1, 1, 1))
    return y


def _fold_weights(weight: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype, block: int = 1 << 18) -> torch.Tensor:
    """weight * scale per output channel, in `dtype`: one rounding of the fp32 product (or of the weights' own dtype
    when that is the compute dtype). Row-wise (2x faster than a 4-D broadcast); when a cast follows, row blocks go
    through a small fp32 buffer that stays in cache instead of a full-size fp32 temporary."""
    w = weight if weight.dtype == dtype else weight.float()
    rows = w.reshape(w.shape[0], -1)
    s = scale.to(w.dtype)[:, None]
    if w.dtype == dtype:
        return (rows * s).reshape(w.shape)
    out = torch.empty(rows.shape, dtype=dtype)
    step = builtins.max(1, block // builtins.max(rows.shape[1], 1))
    buf = torch.empty(step, rows.shape[1])
    for i in range(0, rows.shape[0], step):
        n = builtins.min(step, rows.shape[0] - i)
        torch.mul(rows[i:i + n], s[i:i + n], out=buf[:n])
        out[i:i + n].copy_(buf[:n])
    return out.reshape(w.shape)


def batch_norm(input: Tensor, running_mean: Any, running_var: Any, weight: Any = None, bias: Any = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Inference batch norm. Folded into a preceding convolution whose output nothing else consumed
    (when the build context has fold_bn on); else one scale layer (scale = gamma/sqrt(var+eps), shift = beta - mean*scale)."""
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
    rec = input._conv
    if ctx.fold_bn and rec is not None and input._uses == 0 and input._trt is not None and not input.trt.is_network_output:
        w = _fold_weights(rec.weight, scale, input.dtype)
        b = (rec.bias.double() * scale if rec.bias is not None else 0) + shift
        rec.layer.kernel = ctx.weights(w)
        rec.layer.bias = ctx.weights(b, input.dtype)
        rec.folded = True
        folded = Tensor(input._trt, ctx)
        folded._born = ctx.network.num_layers  # counts as produced by this BatchNorm call
        folded._folded_from = input._trt.name  # the conv output's name (its module path when a module made it)
        input._trt, input._pending, input._conv = None, rec.emit, None  # the unfolded value is re-emitted on demand
        rec.layer.name = f"{rec.layer.name} + {ctx.scope or 'batch_norm'}"
        return folded
    dt = input.dtype
    if input.ndim >= 4:
        trt = ctx.trt
        layer = ctx.add("batch_norm", "add_scale_nd", input.use(), trt.ScaleMode.CHANNEL, ctx.weights(shift, dt),
                        ctx.weights(scale, dt), trt.Weights(dtypes.to_trt(dt)), 1)
        return _out(layer, ctx)
    shape = (1, -1) + (1,) * (input.ndim - 2)
    return add(mul(input, ctx.constant(scale.reshape(shape), dt)), ctx.constant(shift.reshape(shape), dt))


# ---- pooling ------------------------------------------------------------------------------------------------
def _pool_out(n: int, k: int, s: int, p: int, ceil_mode: bool, d: int = 1) -> int:
    eff = d * (k - 1) + 1
    o = (n + 2 * p - eff + ((s - 1) if ceil_mode else 0)) // s + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def _pool_args(x: Tensor, kernel_size, stride, padding, op: str):
    if x.ndim != 4:
        raise ShapeError(f"{op} expects a 4-D input (N, C, H, W); '{x.name}' has shape {x.shape}")
    k = _pair(kernel_size)
    s = _pair(stride) if stride is not None and stride != [] else k
    p = _pair(padding)
    for kk, pp in zip(k, p):
        if pp > kk // 2:
            raise ShapeError(f"{op}: padding {p} should be at most half of kernel size {k}")
    return k, s, p


def _pool(x: Tensor, kind: str, k, s, p, ceil_mode: bool, op: str, excludes_padding: bool = True):
    hw = _static(x, op, [2, 3])[2:]
    outs = [_pool_out(n, kk, ss, pp, ceil_mode) for n, kk, ss, pp in zip(hw, k, s, p)]
    if builtins.min(outs) <= 0:
        raise ShapeError(f"{op}: kernel {k} with padding {p} is larger than the input {hw} of '{x.name}'")
    post = tuple(builtins.max(pp, (o - 1) * ss + kk - n - pp) for n, kk, ss, pp, o in zip(hw, k, s, p, outs))
    layer = x.ctx.add(op, "add_pooling_nd", x.use(), getattr(_trt(x).PoolingType, kind), k)
    layer.stride_nd, layer.pre_padding, layer.post_padding = s, p, post
    layer.average_count_excludes_padding = excludes_padding
    return _out(layer, x.ctx), outs, post


def max_pool2d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               dilation: IntOrPair = 1, ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    if _pair(dilation) != (1, 1) or return_indices:
        raise UnsupportedError("max_pool2d with dilation != 1 or return_indices=True has no TensorRT pooling equivalent")
    k, s, p = _pool_args(input, kernel_size, stride, padding, "max_pool2d")
    return _pool(input, "MAX", k, s, p, ceil_mode, "max_pool2d")[0]


def avg_pool2d(input: Tensor, kernel_size: IntOrPair, stride: Optional[IntOrPair] = None, padding: IntOrPair = 0,
               ceil_mode: bool = False, count_include_pad: bool = True, divisor_override: Optional[int] = None) -> Tensor:
    k, s, p = _pool_args(input, kernel_size, stride, padding, "avg_pool2d")
    include = count_include_pad or divisor_override is not None
    y, outs, post = _pool(input, "AVERAGE", k, s, p, ceil_mode, "avg_pool2d", excludes_padding=not include)
    hw = input.shape[2:]
    if include and (divisor_override is not None or any(pp != q for pp, q in zip(p, post))):
        # TensorRT divides by k*k; torch divides by the window clipped to the padded input, or by divisor_override
        div = np.ones(outs, dtype=np.float64) * (k[0] * k[1])
        if divisor_override is None:
            sizes = [
                np.array([builtins.min(o * ss - pp + kk, n + pp) - (o * ss - pp) for o in range(no)])
                for n, kk, ss, pp, no in zip(hw, k, s, p, outs)
            ]
            div = np.outer(sizes[0], sizes[1]).astype(np.float64)
        else:
            div[:] = divisor_override
        y = mul(y, input.ctx.constant(torch.from_numpy(k[0] * k[1] / div).reshape(1, 1, *outs), input.dtype))
    return y


def _adaptive_bins(n: int, o: int) -> List[Tuple[int, int]]:
    return [((i * n) // o, -((-(i + 1) * n) // o)) for i in range(o)]


def _adaptive_size(x: Tensor, output_size: Any, op: str) -> Tuple[int, int]:
    hw = _static(x, op, [2, 3])[2:]
    o = _pair(output_size) if not isinstance(output_size, (list, tuple)) else tuple(output_size)
    return tuple(n if oo is None else int(oo) for n, oo in zip(hw, o))


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    out = _adaptive_size(input, output_size, "adaptive_avg_pool2d")
    h, w = input.shape[2:]
    if out == (1, 1):
        return mean(input, (2, 3), keepdim=True)
    if h % out[0] == 0 and w % out[1] == 0:
        k = (h // out[0], w // out[1])
        return _pool(input, "AVERAGE", k, k, (0, 0), False, "adaptive_avg_pool2d")[0]
    ah, aw = (np.zeros((o, n)) for o, n in zip(out, (h, w)))
    for a, n, o in ((ah, h, out[0]), (aw, w, out[1])):
        for i, (b, e) in enumerate(_adaptive_bins(n, o)):
            a[i, b:e] = 1.0 / (e - b)
    y = matmul(constant(torch.from_numpy(ah).reshape(1, 1, out[0], h), input), input)
    return matmul(y, constant(torch.from_numpy(aw.T.copy()).reshape(1, 1, w, out[1]), input))


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Tensor:
    if return_indices:
        raise UnsupportedError("adaptive_max_pool2d with return_indices=True is not supported")
    out = _adaptive_size(input, output_size, "adaptive_max_pool2d")
    h, w = input.shape[2:]
    if h % out[0] == 0 and w % out[1] == 0:
        k = (h // out[0], w // out[1])
        return _pool(input, "MAX", k, k, (0, 0), False, "adaptive_max_pool2d")[0]
    rows = []
    for hb, he in _adaptive_bins(h, out[0]):
        cells = [amax(input[:, :, hb:he, wb:we], (2, 3), keepdim=True) for wb, we in _adaptive_bins(w, out[1])]
        rows.append(cat(cells, 3))
    return cat(rows, 2)


# ---- resize and padding -----------------------------------------------------------------------------------
def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: Optional[bool] = None, recompute_scale_factor: Optional[bool] = None,
                antialias: bool = False) -> Tensor:
    nsp = input.ndim - 2
    linear_modes = {"linear": 1, "bilinear": 2, "trilinear": 3}
    if mode not in ("nearest", "nearest-exact", *linear_modes):
        raise UnsupportedError(f"interpolate mode={mode!r}; supported: nearest, nearest-exact, linear, bilinear, trilinear")
    if mode in linear_modes and linear_modes[mode] != nsp:
        raise ShapeError(f"interpolate mode={mode!r} expects a {linear_modes[mode] + 2}-D input, got {input.shape}")
    if align_corners is not None and mode not in linear_modes:
        raise ShapeError("align_corners option can only be set with the interpolating modes: linear | bilinear | trilinear")
    if antialias:
        raise UnsupportedError("interpolate antialias=True has no TensorRT equivalent")
    if (size is None) == (scale_factor is None):
        raise ShapeError("interpolate: exactly one of size and scale_factor must be given")
    spatial = _static(input, "interpolate", range(2, input.ndim))[2:]
    trt = _trt(input)
    layer = input.ctx.add(f"resize_{mode}", "add_resize", input.use())
    sf = None
    if size is not None:
        out = tuple(int(v) for v in (size if isinstance(size, (list, tuple)) else [size] * nsp))
    else:
        sf = tuple(float(v) for v in (scale_factor if isinstance(scale_factor, (list, tuple)) else [scale_factor] * nsp))
        out = tuple(int(math.floor(n * f)) for n, f in zip(spatial, sf))
    if sf is not None and not recompute_scale_factor:
        layer.scales = (1.0, 1.0) + sf
    elif _dynamic(input):
        layer.set_input(1, _shape_vector(input, _spec(input)[:2] + list(out)).use())
    else:
        layer.shape = tuple(input.shape[:2]) + out
    if mode in linear_modes:
        layer.resize_mode = trt.InterpolationMode.LINEAR
        ct = trt.ResizeCoordinateTransformation
        layer.coordinate_transformation = ct.ALIGN_CORNERS if align_corners else ct.HALF_PIXEL
    else:
        layer.resize_mode = trt.InterpolationMode.NEAREST
        exact = mode == "nearest-exact"
        layer.coordinate_transformation = (
            trt.ResizeCoordinateTransformation.HALF_PIXEL if exact else trt.ResizeCoordinateTransformation.ASYMMETRIC
        )
        layer.nearest_rounding = trt.ResizeRoundMode.HALF_UP if exact else trt.ResizeRoundMode.FLOOR
    return _out(layer, input.ctx)


upsample = interpolate


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


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: Optional[float] = None) -> Tensor:  # noqa: A002
    """torch.nn.functional.pad: pairs from the last dim backwards; negative pads crop (constant mode)."""
    modes = {"constant": "FILL", "reflect": "REFLECT", "replicate": "CLAMP", "circular": "WRAP"}
    if mode not in modes:
        raise UnsupportedError(f"pad mode={mode!r}; supported: {', '.join(modes)}")
    if len(pad) % 2 or len(pad) // 2 > input.ndim:
        raise ShapeError(f"pad {tuple(pad)}: expected pairs for at most {input.ndim} dims")
    padded = [input.ndim - 1 - i for i in range(len(pad) // 2)]
    shp = _static(input, "pad", padded)
    start, size = [0] * input.ndim, _spec(input)
    for i, d in enumerate(padded):
        before, after = int(pad[2 * i]), int(pad[2 * i + 1])
        if mode == "reflect" and (before >= shp[d] or after >= shp[d]):
            raise ShapeError(f"reflect padding {before, after} must be smaller than dim {d} (size {shp[d]}) of '{input.name}'")
        if mode != "constant" and (before < 0 or after < 0):
            raise ShapeError(f"{mode} padding must not be negative, got {tuple(pad)}")
        start[d], size[d] = -before, shp[d] + before + after
        if size[d] < 0:
            raise ShapeError(f"pad {tuple(pad)} leaves a negative size for dim {d} of '{input.name}'")
    if start == [0] * input.ndim and size == _spec(input):
        return input
    fill = value if mode == "constant" and value else None
    return _slice(input, f"pad_{mode}", start, size, [1] * input.ndim, mode=modes[mode], fill=fill)


# ---- control flow (trtnn extension, no torch counterpart) ---------------------------------------------------
def fixed_point(fn: Any, init: Tensor) -> Tensor:
    """Iterate `x = fn(x)` from `init` inside one TensorRT while-loop until x stops changing; return that x.

    `fn` (Tensor -> Tensor of the same shape and non-bool dtype) runs at least once and must reach a fixed point,
    e.g. a triangular update x[i] = f(x[:i]), exact after at most len(x) + 1 iterations.
    """
    ctx, trt = init.ctx, init.ctx.trt
    loop = ctx.network.add_loop()
    name = ctx.unique(ctx.join("fixed_point"))
    loop.name = name
    rec_x = loop.add_recurrence(init.use())
    rec_go = loop.add_recurrence(ctx.constant(torch.tensor(True)).use())
    trip = loop.add_trip_limit(rec_go.get_output(0), trt.TripLimit.WHILE)
    for layer, part in ((rec_x, "x"), (rec_go, "go"), (trip, "while")):
        ctx.name_layer(layer, f"{name}:{part}")
    x = _out(rec_x, ctx)
    y = fn(x)
    rec_x.set_input(1, y.use())
    rec_go.set_input(1, gt(amax(cast(ne(y, x), torch.float32)), 0.0).use())
    out = loop.add_loop_output(rec_x.get_output(0), trt.LoopOutput.LAST_VALUE)  # = y at exit: unchanged
    ctx.name_layer(out, f"{name}:out")
    return _out(out, ctx)
