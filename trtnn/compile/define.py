"""From a trtnn Module to a TensorRT network definition: `Input`, `define` and the `Network` it returns."""
from __future__ import annotations

import inspect
import logging
import operator
import re
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

from .. import dtypes
from ..errors import ConfigError, ShapeError, TrtnnError, UnsupportedError
from ..graph.context import BuildContext
from ..graph.module import Module
from ..graph.tensor import Tensor
from .precision import Precision
from .quantize.exact import make_quantizer
from .quantize.placement import Quantizer
from .quantize.ranges import as_ranges
from .quantize.selection import keep_precision

log = logging.getLogger("trtnn")


INT32_MAX = 2**31 - 1
Shape = Tuple[int, ...]
Profile = Tuple[Shape, Shape, Shape]


@dataclass
class Input:
    """A network input. Use -1 in `shape` for a dynamic dim and give `min_shape`/`max_shape` (and `opt_shape`), or
    several optimization profiles as `profiles=[(min, opt, max), ...]` (TensorRT picks one per execution context;
    the CPU executor the first that holds the input shapes).
    A floating input is cast to the network's compute dtype on entry unless `cast=False` (e.g. thresholds).
    The dtype (any spelling: 'fp16', torch.float16, numpy, TensorRT) is stored as a torch dtype."""

    name: str
    shape: Sequence[int]
    dtype: Any = "fp32"
    min_shape: Optional[Sequence[int]] = None
    opt_shape: Optional[Sequence[int]] = None
    max_shape: Optional[Sequence[int]] = None
    cast: bool = True
    profiles: Optional[Sequence[Sequence[Sequence[int]]]] = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ConfigError(f"Input name must be a non-empty string, got {self.name!r}")
        try:
            self.dtype = dtypes.to_torch(self.dtype)
        except TrtnnError as e:  # a real dtype TensorRT lacks (fp64) is unsupported; anything else is a bad argument
            kind = UnsupportedError if _is_torch_dtype_name(self.dtype) else ConfigError
            raise kind(f"input '{self.name}': {e.message}") from None
        self.shape = self._dims("shape", self.shape)
        for i, d in enumerate(self.shape):
            if d == 0 or d < -1:
                raise ConfigError(f"input '{self.name}': shape {self.shape} has dimension {i} = {d}; dimensions are "
                                  f">= 1, or -1 for a dynamic one (with min_shape and max_shape)")
        for attr in ("min_shape", "opt_shape", "max_shape"):
            if getattr(self, attr) is not None:
                setattr(self, attr, self._dims(attr, getattr(self, attr)))
        ranges = any(s is not None for s in (self.min_shape, self.opt_shape, self.max_shape))
        if self.profiles is not None:
            self.profiles = self._profiles(ranges)
        elif self.is_dynamic:
            self.profiles = [self._checked("", self.min_shape, self.opt_shape, self.max_shape)]
        elif ranges:
            raise ConfigError(f"input '{self.name}': min/opt/max shapes given for the static shape {self.shape}; "
                              f"use -1 for the dimensions that vary")

    def _profiles(self, ranges: bool) -> List[Profile]:
        what = f"input '{self.name}': profiles"
        if not self.is_dynamic:
            raise ConfigError(f"{what} given for the static shape {self.shape}; use -1 for the dimensions that vary")
        if ranges:
            raise ConfigError(f"{what} and min/opt/max_shape both given; give one of them")
        if isinstance(self.profiles, (str, bytes)) or not isinstance(self.profiles, Sequence) or not self.profiles:
            raise ConfigError(f"{what} must be a non-empty list of (min, opt, max) shapes, got {self.profiles!r}")
        out = []
        for k, p in enumerate(self.profiles):
            if not isinstance(p, Sequence) or len(p) not in (2, 3):
                raise ConfigError(f"{what}[{k}] must be (min, opt, max) or (min, max) shapes, got {p!r}")
            lo, opt, hi = (p[0], None, p[1]) if len(p) == 2 else p
            dims = [self._dims(f"profiles[{k}] {n}", v) if v is not None else None
                    for n, v in (("min", lo), ("opt", opt), ("max", hi))]
            out.append(self._checked(f"profile {k}: ", *dims))
        for k, p in enumerate(out):
            if p in out[:k]:
                raise ConfigError(f"{what}[{k}] repeats profile {out.index(p)} {p}")
        return out

    def _checked(self, where: str, lo: Any, opt: Any, hi: Any) -> Profile:
        """(min, opt, max) checked against the shape and each other; opt defaults to max."""
        if lo is None or hi is None:
            raise ShapeError(f"input '{self.name}' has dynamic shape {tuple(self.shape)}: give min_shape and max_shape")
        lo, hi = tuple(lo), tuple(hi)
        opt = tuple(opt) if opt is not None else hi
        for name, s in (("min_shape", lo), ("max_shape", hi), ("opt_shape", opt)):
            if len(s) != len(self.shape) or any(d >= 0 and d != v for d, v in zip(self.shape, s)):
                raise ShapeError(f"input '{self.name}': {where}{name} {s} does not fit shape {tuple(self.shape)}")
        for i, (a, b, c) in enumerate(zip(lo, opt, hi)):
            if a < 1:
                raise ShapeError(f"input '{self.name}': {where}dimension {i} of min_shape is {a}; it must be >= 1")
            if not a <= b <= c:
                raise ShapeError(f"input '{self.name}': {where}dimension {i} needs min <= opt <= max, got min {a}, "
                                 f"opt {b}, max {c}")
        return lo, opt, hi

    def _dims(self, what: str, value: Any) -> Tuple[int, ...]:
        try:
            dims = tuple(value)
        except TypeError:
            raise ConfigError(f"input '{self.name}': {what} must be a sequence of ints, got {value!r}") from None
        try:
            if any(isinstance(d, bool) for d in dims):
                raise TypeError
            dims = tuple(operator.index(d) for d in dims)
        except TypeError:
            raise ConfigError(f"input '{self.name}': {what} must hold ints, got {dims!r}") from None
        big = [d for d in dims if d > INT32_MAX]
        if big:  # TensorRT's Dims are int64 but every dimension must fit int32
            raise ConfigError(f"input '{self.name}': {what} {dims} has dimension {big[0]}; TensorRT dimensions are "
                              f"at most 2**31 - 1 = {INT32_MAX}")
        return dims

    @property
    def is_dynamic(self) -> bool:
        return any(int(d) < 0 for d in self.shape)

    def profile(self, index: int = 0) -> Profile:
        """(min, opt, max) shapes of a dynamic input in optimization profile `index` (opt defaults to max)."""
        if not self.is_dynamic:
            raise ShapeError(f"input '{self.name}' has the static shape {tuple(self.shape)}: no profile")
        return self.profiles[index if len(self.profiles) > 1 else 0]

    def describe(self) -> str:
        """`x: 1x3x-1x-1 fp32` plus its profiles (`[0] min 1x3x64x64 opt ... max ...`)."""
        fmt = lambda s: "x".join(str(d) for d in s)  # noqa: E731
        parts = [f"{self.name}: {fmt(self.shape)} {dtypes.short(self.dtype)}"]
        parts += [f"profile {k}: min {fmt(lo)} opt {fmt(opt)} max {fmt(hi)}"
                  for k, (lo, opt, hi) in enumerate(self.profiles or ())]
        return "; ".join(parts)


def profile_count(inputs: Sequence[Input]) -> int:
    """How many optimization profiles `inputs` define (an input with one profile takes part in every one); a
    ConfigError when two dynamic inputs give different counts."""
    counts = {i.name: len(i.profiles) for i in inputs if i.is_dynamic}
    many = {n: c for n, c in counts.items() if c > 1}
    if len(set(many.values())) > 1:
        raise ConfigError(f"the dynamic inputs give different numbers of profiles ({many}); each profile needs a "
                          f"range for every dynamic input (an input with one range takes part in all of them)")
    return max(counts.values(), default=0)


def _is_torch_dtype_name(spelling: Any) -> bool:
    """'fp64', 'float64', 'torch.double': a dtype torch has (so TensorRT's lack of it is the problem, not a typo)."""
    name = re.sub(r"^fp(\d+)$", r"float\1", str(spelling).replace("torch.", "").lower())
    return isinstance(getattr(torch, name, None), torch.dtype)


@dataclass
class TensorInfo:
    name: str
    shape: Tuple[int, ...]
    dtype: torch.dtype

    def __repr__(self) -> str:
        return f"{self.name}: {'x'.join(str(d) for d in self.shape) or 'scalar'} {dtypes.short(self.dtype)}"


@dataclass
class Network:
    """A defined TensorRT network: the build context plus its inputs and outputs."""

    ctx: BuildContext
    inputs: List[Input]
    outputs: List[TensorInfo] = field(default_factory=list)
    define_seconds: float = 0.0
    quantized: List[str] = field(default_factory=list)  # layers whose inputs got Q/DQ (INT8/FP8 networks)
    precision: Precision = field(default_factory=Precision)  # what it was defined with

    @property
    def network(self) -> Any:
        return self.ctx.network

    @property
    def module_outputs(self) -> Dict[str, List[str]]:
        return self.ctx.module_outputs

    @property
    def folded(self) -> Dict[str, str]:
        """Convolution call name -> the BatchNorm call folded into it (`bn`, `bn#1`...); such a convolution has no
        output tensor of its own."""
        return self.ctx.folder.folded

    def layer_names(self) -> List[str]:
        return [self.network.get_layer(i).name for i in range(self.network.num_layers)]


def _flatten_outputs(out: Any, names: Optional[Sequence[str]]) -> List[Tuple[str, Tensor]]:
    if isinstance(out, dict):
        pairs = list(out.items())
    elif isinstance(out, Tensor):
        pairs = [("output", out)]
    elif isinstance(out, (list, tuple)):
        pairs = [(f"output{i}", t) for i, t in enumerate(out)]
    else:
        raise ConfigError(f"forward must return a Tensor, a tuple/list or a dict of Tensors, got {type(out).__name__}")
    if names is not None:
        if len(names) != len(pairs):
            raise ConfigError(f"{len(names)} output names given for {len(pairs)} outputs")
        pairs = [(n, t) for n, (_, t) in zip(names, pairs)]
    for name, t in pairs:
        if not isinstance(t, Tensor):
            raise ConfigError(f"output '{name}' is a {type(t).__name__}, not a trtnn Tensor")
    return pairs


def define(model: Any, inputs: Sequence[Input], precision: Union[Precision, str, None] = None, *,
           output_names: Optional[Sequence[str]] = None, output_dtype: Any = None, debug_outputs: Sequence[str] = (),
           **options: Any) -> Network:
    """Run `model.forward` inside a fresh build context and mark its outputs.

    precision: a trtnn.Precision (dtype, base_dtype, calibration, exclude, keep_fp32, keep_fp16, fold_bn), or its
    fields as keyword arguments (`define(model, inputs, dtype="fp16")`; a dtype name alone: `define(model, inputs,
    "fp16")`). The compute dtype defaults to the model's
    parameter dtype. Floating inputs are cast to it on entry; outputs in the compute dtype are cast back to the first
    floating input's dtype, or all floating outputs to `output_dtype` when given. dtype='int8'|'fp8': explicit
    quantization (trtnn.compile.quantize.placement), the rest computed in base_dtype; `calibration` is tensor name ->
    amax, an object with `.amax` (a trtnn.quant.calibrate result: its INT8 policy's kept layers stay unquantized), or
    trtnn.quant.from_qat's ranges. A model with a `QUANT_SCOPE` (a module path; the end-to-end wrappers: 'model')
    is quantized inside that module only.
    debug_outputs: module paths whose outputs become extra network outputs (named by the path).
    """
    t0 = time.perf_counter()
    precision = Precision.resolve(precision, options, "define")
    inputs = checked_call("trtnn.define", model, inputs, output_names)
    precision.check()
    compute = precision.compute_dtype(model)
    ctx = BuildContext(fold_bn=precision.fold_bn, dtype=compute)
    with ctx.capture.active():
        ctx.register_model(model)
        kept = keep_precision(ctx, keep_fp32=precision.keep_fp32, keep_fp16=precision.keep_fp16)
        ranges = as_ranges(precision.calibration) if precision.quantized else None
        exclude = list(precision.exclude)
        if ranges is not None:  # a calibration's INT8 policy: its kept modules and layers stay unquantized
            exclude += [e for e in getattr(ranges, "exclude", ()) if e not in exclude]
        quantizer = make_quantizer(ctx, precision.format, ranges, exclude, list(kept), getattr(ranges, "layers", ()),
                                   getattr(model, "QUANT_SCOPE", None)) if ranges is not None else None
        net = _emit(ctx, model, inputs, compute, output_names, output_dtype, debug_outputs, quantizer)
    ctx.raise_logged_errors("the network definition")
    net.define_seconds = time.perf_counter() - t0
    net.precision = precision
    return net


def _emit(ctx: BuildContext, model: Any, inputs: List[Input], compute: torch.dtype,
          output_names: Optional[Sequence[str]], output_dtype: Any, debug_outputs: Sequence[str],
          quantizer: Optional[Quantizer]) -> Network:
    """Run the forward pass into `ctx`, place Q/DQ (when quantizing) and mark the outputs (with `ctx`'s TensorRT
    capture active)."""
    args = []
    for inp in inputs:
        t = ctx.add_input(inp.name, inp.shape, inp.dtype)
        if inp.cast and t.dtype.is_floating_point and t.dtype != compute:
            t = t.to(compute)
        args.append(t)
    float_in = [i.dtype for i in inputs if i.dtype.is_floating_point]
    io_dt = float_in[0] if float_in else compute
    net = Network(ctx, list(inputs))
    try:
        inspect.signature(model.forward).bind(*args)
    except TypeError as e:
        names = ", ".join(repr(i.name) for i in inputs)
        raise ConfigError(f"{type(model).__name__}.forward cannot take the {len(inputs)} network input(s) {names}: {e}") \
            from None
    out = model(*args)
    for name, t in _flatten_outputs(out, output_names):
        if output_dtype is not None:  # every floating output in the dtype asked for
            cast_to = dtypes.to_torch(output_dtype) if t.dtype.is_floating_point else None
        else:  # compute-dtype outputs back to the inputs' dtype; explicit casts in forward are kept
            cast_to = io_dt if t.dtype == compute else None
        it = ctx.mark_output(t, name, cast_to)
        net.outputs.append(TensorInfo(name, tuple(it.shape), dtypes.to_torch(it.dtype)))
    ctx.finalize()
    if quantizer is not None:
        quantizer.place()
        net.quantized = quantizer.quantized
    for path in debug_outputs:
        if path in net.folded:
            raise TrtnnError(f"debug output '{path}': its BatchNorm '{net.folded[path]}' was folded into it, so it has "
                             f"no output of its own; ask for '{net.folded[path]}' or define with fold_bn=False")
        if path not in ctx.module_outputs:
            near = [p for p in ctx.module_outputs if p.startswith(path.split(".")[0])][:8]
            raise TrtnnError(f"debug output '{path}' is not a module path of this network" + (f"; e.g. {near}" if near else ""))
        for tname in ctx.module_outputs[path]:
            t = _find_tensor(ctx, tname)
            if not t.is_network_output:
                ctx.network.mark_output(t)
                net.outputs.append(TensorInfo(tname, tuple(t.shape), dtypes.to_torch(t.dtype)))
    return net


def checked_call(caller: str, model: Any, inputs: Any, output_names: Any) -> List[Input]:
    """Refuse what is not a trtnn Module / a list of Inputs / a list of names, saying what to pass instead."""
    if not isinstance(model, Module):
        if isinstance(model, torch.nn.Module):
            raise ConfigError(f"{caller} expects a trtnn.Module; got torch.nn.Module {type(model).__qualname__} — "
                              f"write the network with trtnn.nn (same names) and load its state_dict")
        what = f"the function {getattr(model, '__qualname__', model)!r}" if callable(model) else type(model).__name__
        raise ConfigError(f"{caller} expects a trtnn.Module; got {what} — subclass trtnn.nn.Module and emit the "
                          f"layers in its forward")
    if isinstance(inputs, Input) or not isinstance(inputs, (list, tuple)):
        raise ConfigError(f"{caller}: inputs must be a list of trtnn.Input, got {type(inputs).__name__}"
                          + (" (wrap it in a list)" if isinstance(inputs, Input) else ""))
    for i, inp in enumerate(inputs):
        if not isinstance(inp, Input):
            raise ConfigError(f"{caller}: inputs[{i}] is a {type(inp).__name__}, not a trtnn.Input(name, shape, dtype)")
    if output_names is not None and (isinstance(output_names, str) or not all(isinstance(n, str) and n
                                                                               for n in output_names)):
        raise ConfigError(f"{caller}: output_names must be a list of non-empty strings, got {output_names!r}")
    if output_names is not None and len(set(output_names)) != len(output_names):
        raise ConfigError(f"{caller}: output_names has duplicates: {list(output_names)}")
    return list(inputs)


def _find_tensor(ctx: BuildContext, name: str) -> Any:
    net = ctx.network
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        for j in range(layer.num_outputs):
            if layer.get_output(j).name == name:
                return layer.get_output(j)
    raise TrtnnError(f"no tensor named '{name}' in the network")

