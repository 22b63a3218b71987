"""From a trtnn Module to a TensorRT network definition (`define`) and to a serialized engine (`build`)."""
from __future__ import annotations

import inspect
import logging
import operator
import re
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from . import backend, dtypes
from .context import BuildContext
from .errors import BuildError, ConfigError, ShapeError, TrtnnError, UnsupportedError, require_int
from .module import Module
from .fileio import atomic_write_bytes, check_output_path
from .quant.placement import Quantizer
from .quant.qdq import quant_format
from .quant.ranges import as_ranges
from .quant.selection import keep_precision
from .sidecar import encode, sidecar_path
from .tensor import Tensor

log = logging.getLogger("trtnn")


@dataclass
class Input:
    """A network input. Use -1 in `shape` for a dynamic dim and give `min_shape`/`max_shape` (and `opt_shape`).
    A floating input is cast to the network's compute dtype on entry unless `cast=False` (e.g. thresholds).
    The dtype (any spelling: 'fp16', torch.float16, numpy, TensorRT) is stored as a torch dtype."""

    name: str
    shape: Sequence[int]
    dtype: Any = "fp32"
    min_shape: Optional[Sequence[int]] = None
    opt_shape: Optional[Sequence[int]] = None
    max_shape: Optional[Sequence[int]] = None
    cast: bool = True

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
        if self.is_dynamic:
            self.profile()
        elif any(s is not None for s in (self.min_shape, self.opt_shape, self.max_shape)):
            raise ConfigError(f"input '{self.name}': min/opt/max shapes given for the static shape {self.shape}; "
                              f"use -1 for the dimensions that vary")

    def _dims(self, what: str, value: Any) -> Tuple[int, ...]:
        try:
            dims = tuple(value)
        except TypeError:
            raise ConfigError(f"input '{self.name}': {what} must be a sequence of ints, got {value!r}") from None
        try:
            if any(isinstance(d, bool) for d in dims):
                raise TypeError
            return tuple(operator.index(d) for d in dims)
        except TypeError:
            raise ConfigError(f"input '{self.name}': {what} must hold ints, got {dims!r}") from None

    @property
    def is_dynamic(self) -> bool:
        return any(int(d) < 0 for d in self.shape)

    def profile(self) -> Tuple[Tuple[int, ...], Tuple[int, ...], Tuple[int, ...]]:
        """(min, opt, max) shapes of a dynamic input; opt defaults to max."""
        if self.min_shape is None or self.max_shape is None:
            raise ShapeError(f"input '{self.name}' has dynamic shape {tuple(self.shape)}: give min_shape and max_shape")
        lo, hi = tuple(self.min_shape), tuple(self.max_shape)
        opt = tuple(self.opt_shape) if self.opt_shape is not None else hi
        for name, s in (("min_shape", lo), ("max_shape", hi), ("opt_shape", opt)):
            if len(s) != len(self.shape) or any(d >= 0 and d != v for d, v in zip(self.shape, s)):
                raise ShapeError(f"input '{self.name}': {name} {s} does not fit shape {tuple(self.shape)}")
        for i, (a, b, c) in enumerate(zip(lo, opt, hi)):
            if a < 1:
                raise ShapeError(f"input '{self.name}': dimension {i} of min_shape is {a}; it must be >= 1")
            if not a <= b <= c:
                raise ShapeError(f"input '{self.name}': dimension {i} needs min <= opt <= max, got min {a}, "
                                 f"opt {b}, max {c}")
        return lo, opt, hi


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


def _model_dtype(model: Any) -> torch.dtype:
    for p in model.parameters():
        if p.dtype.is_floating_point:
            return p.dtype
    return torch.float32


def define(model: Any, inputs: Sequence[Input], *, dtype: Any = None, output_names: Optional[Sequence[str]] = None,
           output_dtype: Any = None, fold_bn: bool = True, debug_outputs: Sequence[str] = (),
           calibration: Any = None, exclude: Sequence[str] = (), keep_fp32: Sequence[str] = (),
           keep_fp16: Sequence[str] = (), base_dtype: Any = "fp16") -> Network:
    """Run `model.forward` inside a fresh build context and mark its outputs.

    dtype: compute dtype ('fp32'|'fp16'|'bf16'; default: the model's parameter dtype). Floating inputs are cast to it
    on entry; outputs in the compute dtype are cast back to the first floating input's dtype, or all floating
    outputs to `output_dtype` when given.
    dtype='int8'|'fp8': explicit quantization (trtnn.quant.placement): Q/DQ with the amax of `calibration` (tensor
    name -> amax, an object with `.amax`, or trtnn.quant.qat_calibration's pair); the rest computes in `base_dtype`.
    `exclude`: module paths / module types / TensorRT layer types left unquantized.
    keep_fp32 / keep_fp16: module paths or types computed in that dtype (casts at their boundaries; never quantized).
    debug_outputs: module paths whose outputs become extra network outputs (named by the path).
    """
    t0 = time.perf_counter()
    inputs = _checked_call("trtnn.define", model, inputs, output_names)
    fmt = quant_format(dtype)
    if fmt is None and (calibration is not None or exclude):
        raise ConfigError(f"calibration= and exclude= are for dtype='int8' or 'fp8', got dtype={dtype!r}")
    if fmt is not None and calibration is None:
        raise ConfigError(f"dtype={dtype!r} needs calibration= (tensor name -> amax; see trtnn.quant)")
    try:
        compute = dtypes.to_torch(base_dtype if fmt is not None else dtype) if dtype is not None \
            else _model_dtype(model)
    except TrtnnError as e:
        raise ConfigError(f"dtype: {e.message}") from None
    if compute not in dtypes.FLOATING:
        raise ConfigError(f"compute dtype must be fp32, fp16 or bf16, got {dtypes.short(compute)}")
    ctx = BuildContext(fold_bn=fold_bn, dtype=compute)
    with ctx.capture.active():
        ctx.register_model(model)
        kept = keep_precision(ctx, keep_fp32=keep_fp32, keep_fp16=keep_fp16)
        quantizer = Quantizer(ctx, fmt, as_ranges(calibration), exclude, list(kept)) if fmt is not None else None
        net = _emit(ctx, model, inputs, compute, output_names, output_dtype, debug_outputs, quantizer)
    ctx.raise_logged_errors("the network definition")
    net.define_seconds = time.perf_counter() - t0
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


def _checked_call(caller: str, model: Any, inputs: Any, output_names: Any) -> List[Input]:
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


class _Monitor:
    """TensorRT's IProgressMonitor: tqdm bars (only when asked, by default on a terminal) and cancellation: once
    `cancel()` was called (Ctrl-C during the build), step_complete returns False and TensorRT stops the build."""

    def __new__(cls, bars: bool) -> Any:
        trt = backend.get()
        from tqdm import tqdm

        class Monitor(trt.IProgressMonitor):
            def __init__(self) -> None:
                trt.IProgressMonitor.__init__(self)
                self.bars: Dict[str, Any] = {}
                self.cancelled = False

            def cancel(self, *_: Any) -> None:
                self.cancelled = True

            def phase_start(self, phase_name, parent_phase, num_steps):
                if bars and not self.cancelled:
                    try:
                        self.bars[phase_name] = tqdm(total=num_steps, desc=phase_name, leave=parent_phase is None,
                                                     position=len(self.bars), file=sys.stderr)
                    except Exception:
                        pass

            def step_complete(self, phase_name, step):
                bar = self.bars.get(phase_name)
                if bar is not None:
                    bar.update(step + 1 - bar.n)
                return not self.cancelled

            def phase_finish(self, phase_name):
                bar = self.bars.pop(phase_name, None)
                if bar is not None:
                    bar.close()

            def close(self) -> None:
                for bar in self.bars.values():
                    bar.close()
                self.bars.clear()

        return Monitor()


@contextmanager
def _cancel_on_sigint(monitor: Any) -> Iterator[None]:
    """While building in the main thread, Ctrl-C cancels the TensorRT build instead of interrupting Python."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, monitor.cancel)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@dataclass
class Engine:
    """A serialized TensorRT engine plus what it takes and returns."""

    plan: Union[bytes, memoryview]  # a view of TensorRT's serialized memory (no copy) or bytes
    inputs: List[TensorInfo]
    outputs: List[TensorInfo]
    backend: str
    define_seconds: float = 0.0
    build_seconds: float = 0.0

    def serialize(self) -> bytes:
        return bytes(self.plan)

    def save(self, path: str, metadata: Optional[Mapping[str, Any]] = None) -> None:
        """Write the plan atomically (never a half-written file); an unusable path raises FileError naming it.
        `metadata` (e.g. trtnn.sidecar.engine_metadata(engine, model, names=...)) is written beside it as
        `<path>.json`, also atomically."""
        sidecar = encode(metadata, path) if metadata is not None else None  # refused before anything is written
        if sidecar is not None:
            check_output_path(sidecar_path(path), what="engine metadata")
        atomic_write_bytes(path, self.plan, what="engine")
        if sidecar is not None:
            atomic_write_bytes(sidecar_path(path), sidecar, what="engine metadata")

    @property
    def nbytes(self) -> int:
        return memoryview(self.plan).nbytes

    def __repr__(self) -> str:
        return (f"Engine({self.nbytes / 1e6:.2f} MB, backend={self.backend}, inputs={self.inputs}, "
                f"outputs={self.outputs})")


def build_network(net: Network, *, workspace: Optional[int] = None, progress: Optional[bool] = None,
                  optimization_level: Optional[int] = None) -> Engine:
    """Build a defined network into a serialized engine; failures raise BuildError with TensorRT's messages."""
    if not isinstance(net, Network):
        raise ConfigError(f"trtnn.build_network expects the Network trtnn.define returns, got {type(net).__name__}")
    _check_build_args(workspace, optimization_level)
    ctx = net.ctx
    trt = ctx.trt
    config = ctx.builder.create_builder_config()
    if workspace is not None:
        backend.set_workspace(config, workspace)
    if optimization_level is not None:
        config.builder_optimization_level = optimization_level
    if any(i.is_dynamic for i in net.inputs):
        _add_profile(ctx, config, net.inputs)
    monitor = _Monitor(progress if progress is not None else sys.stderr.isatty())
    config.progress_monitor = monitor
    t0 = time.perf_counter()
    try:
        with ctx.capture.active(), _cancel_on_sigint(monitor):
            plan = ctx.builder.build_serialized_network(ctx.network, config)
    except Exception as e:  # TensorRT raises on some invalid networks instead of returning None
        raise BuildError(f"TensorRT failed to build the network: {e}", ctx.capture.take()) from None
    finally:
        monitor.close()
    seconds = time.perf_counter() - t0
    if monitor.cancelled:
        raise KeyboardInterrupt("TensorRT build cancelled")
    errors = ctx.capture.take()
    if plan is None or errors:  # an error TensorRT logged never passes silently, even with a plan
        raise BuildError("TensorRT failed to build the network", errors)
    ins = [TensorInfo(i.name, tuple(int(d) for d in i.shape), dtypes.to_torch(i.dtype)) for i in net.inputs]
    engine = Engine(memoryview(plan).cast("B"), ins, list(net.outputs), trt.__name__, net.define_seconds, seconds)
    log.info("built %s in %.2fs (definition %.3fs)", engine, seconds, net.define_seconds)
    return engine


def _check_build_args(workspace: Any, optimization_level: Any) -> None:
    """None, or ints in range (ConfigError naming the argument): checked by build before the definition too."""
    if workspace is not None:
        require_int(workspace, "workspace", unit="bytes")
    if optimization_level is not None:
        require_int(optimization_level, "optimization_level", minimum=0, maximum=5)


def _add_profile(ctx: BuildContext, config: Any, inputs: Sequence[Input]) -> None:
    """One optimization profile from the dynamic inputs' (min, opt, max); TensorRT's own objection names the input."""
    profile = ctx.builder.create_optimization_profile()
    for inp in inputs:
        if inp.is_dynamic:
            lo, opt, hi = inp.profile()
            with ctx.capture.active():
                try:
                    profile.set_shape(inp.name, lo, opt, hi)
                except (RuntimeError, ValueError, TypeError) as e:
                    ctx.capture.add(str(e))
            msgs = ctx.capture.take()
            if msgs:
                raise ShapeError(f"TensorRT rejected the profile of input '{inp.name}' (min {lo}, opt {opt}, "
                                 f"max {hi}): " + "; ".join(msgs))
    with ctx.capture.active():
        index = config.add_optimization_profile(profile)
    msgs = ctx.capture.take()
    if index < 0 or msgs:
        raise ShapeError("TensorRT rejected the optimization profile: " + "; ".join(msgs))


def build(model: Any, inputs: Sequence[Input], *, dtype: Any = None, output_names: Optional[Sequence[str]] = None,
          output_dtype: Any = None, fold_bn: bool = True, workspace: Optional[int] = None,
          progress: Optional[bool] = None, optimization_level: Optional[int] = None,
          debug_outputs: Sequence[str] = (), calibration: Any = None, exclude: Sequence[str] = (),
          keep_fp32: Sequence[str] = (), keep_fp16: Sequence[str] = (), base_dtype: Any = "fp16") -> Engine:
    """Define `model` for `inputs` and build a TensorRT engine (see `define` for dtype, quantization and outputs).
    Ctrl-C (in the main thread) cancels TensorRT's build and raises KeyboardInterrupt."""
    _checked_call("trtnn.build", model, inputs, output_names)
    _check_build_args(workspace, optimization_level)
    net = define(model, inputs, dtype=dtype, output_names=output_names, output_dtype=output_dtype, fold_bn=fold_bn,
                 debug_outputs=debug_outputs, calibration=calibration, exclude=exclude, keep_fp32=keep_fp32,
                 keep_fp16=keep_fp16, base_dtype=base_dtype)
    return build_network(net, workspace=workspace, progress=progress, optimization_level=optimization_level)
