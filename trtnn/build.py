"""From a trtnn Module to a TensorRT network definition (`define`) and to a serialized engine (`build`)."""
from __future__ import annotations

import inspect
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch

from . import backend, dtypes
from .context import BuildContext
from .errors import BuildError, ConfigError, ShapeError, TrtnnError
from .fileio import atomic_write_bytes
from .quant.placement import Quantizer
from .quant.qdq import quant_format
from .quant.ranges import as_ranges
from .quant.selection import keep_precision
from .tensor import Tensor

log = logging.getLogger("trtnn")


@dataclass
class Input:
    """A network input. Use -1 in `shape` for a dynamic dim and give `min_shape`/`max_shape` (and `opt_shape`).
    A floating input is cast to the network's compute dtype on entry unless `cast=False` (e.g. thresholds)."""

    name: str
    shape: Sequence[int]
    dtype: Any = "fp32"
    min_shape: Optional[Sequence[int]] = None
    opt_shape: Optional[Sequence[int]] = None
    max_shape: Optional[Sequence[int]] = None
    cast: bool = True

    @property
    def is_dynamic(self) -> bool:
        return any(int(d) < 0 for d in self.shape)

    def profile(self) -> Tuple[Tuple[int, ...], Tuple[int, ...], Tuple[int, ...]]:
        if self.min_shape is None or self.max_shape is None:
            raise ShapeError(f"input '{self.name}' has dynamic shape {tuple(self.shape)}: give min_shape and max_shape")
        lo, hi = tuple(self.min_shape), tuple(self.max_shape)
        opt = tuple(self.opt_shape) if self.opt_shape is not None else hi
        for name, s in (("min_shape", lo), ("opt_shape", opt), ("max_shape", hi)):
            if len(s) != len(self.shape) or any(d >= 0 and d != v for d, v in zip(self.shape, s)):
                raise ShapeError(f"input '{self.name}': {name} {s} does not fit shape {tuple(self.shape)}")
        return lo, opt, hi


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
        raise TrtnnError(f"forward must return a Tensor, a tuple/list or a dict of Tensors, got {type(out).__name__}")
    if names is not None:
        if len(names) != len(pairs):
            raise TrtnnError(f"{len(names)} output names given for {len(pairs)} outputs")
        pairs = [(n, t) for n, (_, t) in zip(names, pairs)]
    for name, t in pairs:
        if not isinstance(t, Tensor):
            raise TrtnnError(f"output '{name}' is a {type(t).__name__}, not a trtnn Tensor")
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
    fmt = quant_format(dtype)
    if fmt is None and (calibration is not None or exclude):
        raise ConfigError(f"calibration= and exclude= are for dtype='int8' or 'fp8', got dtype={dtype!r}")
    if fmt is not None and calibration is None:
        raise ConfigError(f"dtype={dtype!r} needs calibration= (tensor name -> amax; see trtnn.quant)")
    compute = dtypes.to_torch(base_dtype if fmt is not None else dtype) if dtype is not None else _model_dtype(model)
    if compute not in dtypes.FLOATING:
        raise TrtnnError(f"compute dtype must be fp32, fp16 or bf16, got {dtypes.short(compute)}")
    ctx = BuildContext(fold_bn=fold_bn, dtype=compute)
    ctx.register_model(model)
    kept = keep_precision(ctx, keep_fp32=keep_fp32, keep_fp16=keep_fp16)
    quantizer = Quantizer(ctx, fmt, as_ranges(calibration), exclude, list(kept)) if fmt is not None else None
    args = []
    for inp in inputs:
        t = ctx.add_input(inp.name, inp.shape, inp.dtype)
        if inp.cast and t.dtype.is_floating_point and t.dtype != compute:
            t = t.to(compute)
        args.append(t)
    float_in = [dtypes.to_torch(i.dtype) for i in inputs if dtypes.to_torch(i.dtype).is_floating_point]
    io_dt = float_in[0] if float_in else compute
    net = Network(ctx, list(inputs))
    try:
        inspect.signature(model.forward).bind(*args)
    except TypeError as e:
        names = ", ".join(repr(i.name) for i in inputs)
        raise TrtnnError(f"{type(model).__name__}.forward cannot take the {len(inputs)} network input(s) {names}: {e}") \
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
    net.define_seconds = time.perf_counter() - t0
    return net


def _find_tensor(ctx: BuildContext, name: str) -> Any:
    net = ctx.network
    for i in range(net.num_layers):
        layer = net.get_layer(i)
        for j in range(layer.num_outputs):
            if layer.get_output(j).name == name:
                return layer.get_output(j)
    raise TrtnnError(f"no tensor named '{name}' in the network")


class _Progress:
    """A tqdm bar driven by TensorRT's IProgressMonitor (only when stderr is a terminal)."""

    def __new__(cls) -> Any:
        trt = backend.get()
        from tqdm import tqdm

        class Monitor(trt.IProgressMonitor):
            def __init__(self) -> None:
                trt.IProgressMonitor.__init__(self)
                self.bars: Dict[str, Any] = {}

            def phase_start(self, phase_name, parent_phase, num_steps):
                try:
                    self.bars[phase_name] = tqdm(total=num_steps, desc=phase_name, leave=parent_phase is None,
                                                 position=len(self.bars), file=sys.stderr)
                except Exception:
                    pass

            def step_complete(self, phase_name, step):
                bar = self.bars.get(phase_name)
                if bar is not None:
                    bar.update(step + 1 - bar.n)
                return True

            def phase_finish(self, phase_name):
                bar = self.bars.pop(phase_name, None)
                if bar is not None:
                    bar.close()

        return Monitor()


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

    def save(self, path: str) -> None:
        """Write the plan atomically (never a half-written file)."""
        atomic_write_bytes(path, self.plan)

    @property
    def nbytes(self) -> int:
        return memoryview(self.plan).nbytes

    def __repr__(self) -> str:
        return (f"Engine({self.nbytes / 1e6:.2f} MB, backend={self.backend}, inputs={self.inputs}, "
                f"outputs={self.outputs})")


def build_network(net: Network, *, workspace: Optional[int] = None, progress: Optional[bool] = None,
                  optimization_level: Optional[int] = None) -> Engine:
    """Build a defined network into a serialized engine; failures raise BuildError with TensorRT's messages."""
    ctx = net.ctx
    trt = ctx.trt
    config = ctx.builder.create_builder_config()
    if workspace is not None:
        backend.set_workspace(config, workspace)
    if optimization_level is not None:
        config.builder_optimization_level = optimization_level
    if any(i.is_dynamic for i in net.inputs):
        profile = ctx.builder.create_optimization_profile()
        for inp in net.inputs:
            if inp.is_dynamic:
                profile.set_shape(inp.name, *inp.profile())
        config.add_optimization_profile(profile)
    if progress if progress is not None else sys.stderr.isatty():
        config.progress_monitor = _Progress()
    ctx.logger.take_errors()
    t0 = time.perf_counter()
    try:
        plan = ctx.builder.build_serialized_network(ctx.network, config)
    except Exception as e:  # TensorRT raises on some invalid networks instead of returning None
        raise BuildError(f"TensorRT failed to build the network: {e}", ctx.logger.take_errors()) from None
    seconds = time.perf_counter() - t0
    if plan is None:
        raise BuildError("TensorRT failed to build the network", ctx.logger.take_errors())
    ins = [TensorInfo(i.name, tuple(int(d) for d in i.shape), dtypes.to_torch(i.dtype)) for i in net.inputs]
    engine = Engine(memoryview(plan).cast("B"), ins, list(net.outputs), trt.__name__, net.define_seconds, seconds)
    log.info("built %s in %.2fs (definition %.3fs)", engine, seconds, net.define_seconds)
    return engine


def build(model: Any, inputs: Sequence[Input], *, dtype: Any = None, output_names: Optional[Sequence[str]] = None,
          output_dtype: Any = None, fold_bn: bool = True, workspace: Optional[int] = None,
          progress: Optional[bool] = None, optimization_level: Optional[int] = None,
          debug_outputs: Sequence[str] = (), calibration: Any = None, exclude: Sequence[str] = (),
          keep_fp32: Sequence[str] = (), keep_fp16: Sequence[str] = (), base_dtype: Any = "fp16") -> Engine:
    """Define `model` for `inputs` and build a TensorRT engine (see `define` for dtype, quantization and outputs)."""
    net = define(model, inputs, dtype=dtype, output_names=output_names, output_dtype=output_dtype, fold_bn=fold_bn,
                 debug_outputs=debug_outputs, calibration=calibration, exclude=exclude, keep_fp32=keep_fp32,
                 keep_fp16=keep_fp16, base_dtype=base_dtype)
    return build_network(net, workspace=workspace, progress=progress, optimization_level=optimization_level)
