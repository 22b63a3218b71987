"""From a defined network to a serialized engine: `build`, `build_network`, `Engine`, progress and cancellation."""
from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Union

from tqdm import tqdm

from .. import backend, dtypes
from ..errors import BuildCancelled, BuildError, ConfigError, ShapeError, require_int
from ..graph.context import BuildContext
from ..io.files import atomic_write_bytes, check_output_path
from ..io.sidecar import encode, sidecar_path
from .define import Input, Network, TensorInfo, checked_call, define
from .lifecycle import BuildOptions, apply_options, check_profiles, save_timing_cache
from .precision import Precision

log = logging.getLogger("trtnn")


class _Monitor:
    """TensorRT's IProgressMonitor: tqdm bars (only when asked, by default on a terminal) and cancellation: once
    `cancel()` was called (Ctrl-C during the build) or the `event` is set (build(..., cancel=event) from another
    thread), step_complete returns False and TensorRT stops the build."""

    def __new__(cls, bars: bool, event: Any = None) -> Any:
        trt = backend.get()
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
                return not (self.cancelled or self.event_set())

            def event_set(self) -> bool:
                return event is not None and event.is_set()

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
    profiles: List[Dict[str, List[List[int]]]] = field(default_factory=list)  # per profile: input -> [min, opt, max]
    options: Dict[str, Any] = field(default_factory=dict)  # what the plan needs and allows (BuildOptions.record)

    def serialize(self) -> bytes:
        return bytes(self.plan)

    def save(self, path: str, metadata: Optional[Mapping[str, Any]] = None) -> None:
        """Write the plan atomically (never a half-written file); an unusable path raises FileError naming it.
        `metadata` (e.g. trtnn.io.sidecar.engine_metadata(engine, model, names=...)) is written beside it as
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
        prof = f", profiles={self.profiles}" if self.profiles else ""
        return (f"Engine({self.nbytes / 1e6:.2f} MB, backend={self.backend}, inputs={self.inputs}, "
                f"outputs={self.outputs}{prof})")


def build_network(net: Network, *, workspace: Optional[int] = None, progress: Optional[bool] = None,
                  optimization_level: Optional[int] = None, options: Optional[BuildOptions] = None,
                  cancel: Any = None) -> Engine:
    """Build a defined network into a serialized engine; failures raise BuildError with TensorRT's messages.
    `options` (BuildOptions): refit / stripped weights, timing cache, compatibility, extra optimization profiles.
    `cancel`: a threading.Event (anything with is_set()); setting it, e.g. from another thread, stops the build
    within one TensorRT step and raises BuildCancelled."""
    if not isinstance(net, Network):
        raise ConfigError(f"trtnn.build_network expects the Network trtnn.define returns, got {type(net).__name__}")
    _check_build_args(workspace, optimization_level, options, cancel)
    options = options if options is not None else BuildOptions()
    profiles = check_profiles(net.inputs, options.profiles)
    ctx = net.ctx
    trt = ctx.trt
    config = ctx.builder.create_builder_config()
    if workspace is not None:
        backend.set_workspace(config, workspace)
    if optimization_level is not None:
        config.builder_optimization_level = optimization_level
    if any(i.is_dynamic for i in net.inputs):
        for k, prof in enumerate(profiles):
            _add_profile(ctx, config, net.inputs, prof, "the profile" if len(profiles) == 1 else f"profile {k}")
    timing_cache = apply_options(ctx, config, options)
    monitor = _Monitor(progress if progress is not None else sys.stderr.isatty(), cancel)
    config.progress_monitor = monitor
    _raise_if_cancelled(cancel, "before the build started")
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
    _raise_if_cancelled(cancel, f"after {seconds:.2f}s of building")
    errors = ctx.capture.take()
    if plan is None or errors:  # an error TensorRT logged never passes silently, even with a plan
        raise BuildError("TensorRT failed to build the network" + options.failure_hint(errors), errors)
    if timing_cache is not None:
        save_timing_cache(config, options.timing_cache)
    ins = [TensorInfo(i.name, tuple(int(d) for d in i.shape), dtypes.to_torch(i.dtype)) for i in net.inputs]
    engine = Engine(memoryview(plan).cast("B"), ins, list(net.outputs), trt.__name__, net.define_seconds, seconds,
                    profiles=profiles if any(i.is_dynamic for i in net.inputs) else [], options=options.record())
    log.info("built %s in %.2fs (definition %.3fs)", engine, seconds, net.define_seconds)
    return engine


def _check_build_args(workspace: Any, optimization_level: Any, options: Any = None, cancel: Any = None) -> None:
    """None, or ints in range (ConfigError naming the argument): checked by build before the definition too."""
    if options is not None and not isinstance(options, BuildOptions):
        raise ConfigError(f"options must be a trtnn.BuildOptions, got {type(options).__name__}")
    if workspace is not None:
        require_int(workspace, "workspace", unit="bytes")
    if optimization_level is not None:
        require_int(optimization_level, "optimization_level", minimum=0, maximum=5)
    if cancel is not None and not callable(getattr(cancel, "is_set", None)):
        raise ConfigError(f"cancel must be a threading.Event (or have is_set()), got {type(cancel).__name__}")


def _raise_if_cancelled(cancel: Any, when: str) -> None:
    if cancel is not None and cancel.is_set():
        raise BuildCancelled(f"the build was cancelled (cancel event set {when}); nothing was written")


def _add_profile(ctx: BuildContext, config: Any, inputs: Sequence[Input],
                 shapes: Mapping[str, Sequence[Sequence[int]]], label: str) -> None:
    """One optimization profile from `shapes` (input -> [min, opt, max]; see lifecycle.check_profiles); TensorRT's
    own objection names the input and the profile."""
    profile = ctx.builder.create_optimization_profile()
    for inp in inputs:
        if inp.is_dynamic:
            lo, opt, hi = (tuple(s) for s in shapes[inp.name])
            with ctx.capture.active():
                try:
                    profile.set_shape(inp.name, lo, opt, hi)
                except (RuntimeError, ValueError, TypeError) as e:
                    ctx.capture.add(str(e))
            msgs = ctx.capture.take()
            if msgs:
                raise ShapeError(f"TensorRT rejected {label} of input '{inp.name}' (min {lo}, opt {opt}, "
                                 f"max {hi}): " + "; ".join(msgs))
    with ctx.capture.active():
        index = config.add_optimization_profile(profile)
    msgs = ctx.capture.take()
    if index < 0 or msgs:
        raise ShapeError(f"TensorRT rejected {label} (optimization profile): " + "; ".join(msgs))


def build(model: Any, inputs: Sequence[Input], precision: Union[Precision, str, None] = None, *,
          output_names: Optional[Sequence[str]] = None, output_dtype: Any = None, debug_outputs: Sequence[str] = (),
          workspace: Optional[int] = None, progress: Optional[bool] = None, optimization_level: Optional[int] = None,
          options: Optional[BuildOptions] = None, cancel: Any = None, **precision_fields: Any) -> Engine:
    """Define `model` for `inputs` and build a TensorRT engine (see `define` for precision — a trtnn.Precision or its
    fields as keyword arguments — and outputs; `options`: trtnn.BuildOptions, the engine's lifecycle). Ctrl-C (in the
    main thread) cancels TensorRT's build and raises KeyboardInterrupt; setting the `cancel` event
    (threading.Event, e.g. from another thread) stops it and raises trtnn.errors.BuildCancelled."""
    precision = Precision.resolve(precision, precision_fields, "build")
    checked_call("trtnn.build", model, inputs, output_names)
    _check_build_args(workspace, optimization_level, options, cancel)
    _raise_if_cancelled(cancel, "before the definition")
    net = define(model, inputs, precision, output_names=output_names, output_dtype=output_dtype,
                 debug_outputs=debug_outputs)
    return build_network(net, workspace=workspace, progress=progress, optimization_level=optimization_level,
                         options=options, cancel=cancel)
