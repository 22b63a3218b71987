"""The TensorRT calls of the runner (name-based API of TensorRT 10/11 and TensorRT-RTX): deserialize, a pool of
execution contexts, optimization profile switching on the caller's stream, outputs allocated from resolved shapes or
through an IOutputAllocator when data-dependent, optional CUDA graphs per shape, TensorRT-RTX's runtime cache.

Everything else (binding, profile choice, batching, results) is shared with the CPU path in runner.py. This module
runs only where a supported GPU is present; on other machines `GpuExecutor` refuses with the reason."""
from __future__ import annotations

import os
import queue
from typing import Any, Dict, List, Mapping, Optional, Tuple

import torch

from .. import backend, dtypes
from ..errors import BackendError, InputError
from ..io.files import atomic_write_bytes
from .bindings import Profile, TensorSpec


def _output_allocator(trt: Any, device: torch.device) -> Any:
    """An IOutputAllocator that backs data-dependent outputs with torch CUDA memory and records their shapes."""

    class Allocator(trt.IOutputAllocator):
        def __init__(self) -> None:
            trt.IOutputAllocator.__init__(self)
            self.buffers: Dict[str, torch.Tensor] = {}
            self.shapes: Dict[str, Tuple[int, ...]] = {}

        def reallocate_output_async(self, tensor_name, memory, size, alignment, stream):
            buf = self.buffers.get(tensor_name)
            if buf is None or buf.numel() < size:
                buf = torch.empty(max(int(size), 1), dtype=torch.uint8, device=device)
                self.buffers[tensor_name] = buf
            return buf.data_ptr()

        def notify_shape(self, tensor_name, shape):
            self.shapes[tensor_name] = tuple(shape)

    return Allocator()


class _Slot:
    """One execution context with its own stream, active profile and captured CUDA graphs."""

    def __init__(self, context: Any, device: torch.device) -> None:
        self.context = context
        self.stream = torch.cuda.Stream(device)
        self.profile = -1
        self.graphs: Dict[Any, Tuple[Any, Dict[str, torch.Tensor], Dict[str, torch.Tensor]]] = {}


class GpuExecutor:
    """A deserialized plan and `contexts` execution contexts on CUDA device `device`."""

    def __init__(self, plan: bytes, device: torch.device, contexts: int = 1, runtime_cache: Optional[str] = None
                 ) -> None:
        backend.require_runtime()
        if not torch.cuda.is_available():
            raise BackendError("running engines needs a CUDA build of PyTorch (torch.cuda.is_available() is False)")
        trt = self.trt = backend.get()
        self.device = device
        torch.cuda.set_device(device)
        self.capture = backend.Capture()  # TensorRT's errors about this runner (and only this one)
        self.runtime = trt.Runtime(backend.logger())
        with self.capture.active():
            self.engine = self.runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise BackendError("TensorRT could not deserialize the engine: " + "; ".join(self.capture.take()))
        self.runtime_cache_path = runtime_cache
        self.runtime_config = self._runtime_config(runtime_cache)
        self.slots: "queue.Queue[_Slot]" = queue.Queue()
        for _ in range(contexts):
            with self.capture.active():
                ctx = self.engine.create_execution_context(self.runtime_config) if self.runtime_config is not None \
                    else self.engine.create_execution_context()
            if ctx is None:
                raise BackendError("TensorRT could not create an execution context: " + "; ".join(self.capture.take()))
            self.slots.put(_Slot(ctx, device))
        self.allocator = _output_allocator(trt, device)

    def _runtime_config(self, path: Optional[str]) -> Any:
        """TensorRT-RTX: a runtime config whose runtime cache (JIT-compiled kernels) is loaded from `path`."""
        if path is None:
            return None
        if not backend.is_rtx():
            raise BackendError("runtime_cache is TensorRT-RTX's (kernels compiled at run time); full TensorRT "
                               "compiles at build time (use a timing cache when building)")
        config = self.engine.create_runtime_config()
        cache = config.create_runtime_cache()
        if os.path.exists(path):
            with open(path, "rb") as f:
                cache.deserialize(f.read())
        config.set_runtime_cache(cache)
        self.runtime_cache = cache
        return config

    def save_runtime_cache(self) -> None:
        if self.runtime_cache_path is not None:
            atomic_write_bytes(self.runtime_cache_path, bytes(memoryview(self.runtime_cache.serialize())),
                               what="runtime cache")

    # ---- what the engine says about itself (shared code turns it into specs and profiles) ----
    def io(self) -> Tuple[List[TensorSpec], List[TensorSpec]]:
        trt, e = self.trt, self.engine
        names = [e.get_tensor_name(i) for i in range(e.num_io_tensors)]

        def spec(n: str) -> TensorSpec:
            return TensorSpec(n, tuple(e.get_tensor_shape(n)), dtypes.to_torch(e.get_tensor_dtype(n)))

        inputs = [spec(n) for n in names if e.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [spec(n) for n in names if e.get_tensor_mode(n) != trt.TensorIOMode.INPUT]
        return inputs, outputs

    def profiles(self, inputs: List[TensorSpec]) -> List[Profile]:
        dynamic = [s.name for s in inputs if -1 in s.shape]
        if not dynamic:
            return []
        return [Profile(k, {n: tuple(tuple(s) for s in self.engine.get_tensor_profile_shape(n, k)) for n in dynamic})
                for k in range(self.engine.num_optimization_profiles)]

    # ---- execution ----
    def __call__(self, tensors: Mapping[str, torch.Tensor], outputs: List[TensorSpec], profile: int,
                 stream: Optional[torch.cuda.Stream] = None, cuda_graph: bool = False) -> Dict[str, torch.Tensor]:
        slot = self.slots.get()  # blocks while every context is busy (concurrent requests)
        try:
            run_stream = stream or slot.stream
            if stream is None:
                run_stream.wait_stream(torch.cuda.current_stream(self.device))
            return self._run(slot, tensors, outputs, profile, run_stream, cuda_graph, synchronize=stream is None)
        finally:
            self.slots.put(slot)

    def _run(self, slot: _Slot, tensors: Mapping[str, torch.Tensor], outputs: List[TensorSpec], profile: int,
             stream: torch.cuda.Stream, cuda_graph: bool, synchronize: bool) -> Dict[str, torch.Tensor]:
        ctx = slot.context
        with self.capture.active():
            if slot.profile != profile:
                if not ctx.set_optimization_profile_async(profile, stream.cuda_stream):
                    raise BackendError(f"TensorRT refused optimization profile {profile}: "
                                       + "; ".join(self.capture.take()))
                slot.profile = profile
                slot.graphs.clear()
            for name, t in tensors.items():
                if not ctx.set_input_shape(name, tuple(t.shape)):
                    raise InputError(f"input '{name}': shape {tuple(t.shape)} is outside profile {profile}: "
                                     + "; ".join(self.capture.take()))
        key = tuple((n, tuple(t.shape)) for n, t in tensors.items())
        if cuda_graph and key in slot.graphs:
            graph, static_in, static_out = slot.graphs[key]
            with torch.cuda.stream(stream):
                for n, t in tensors.items():
                    static_in[n].copy_(t, non_blocking=True)
                graph.replay()
                result = {n: o.clone() for n, o in static_out.items()}
            if synchronize:
                stream.synchronize()
            return result
        bound = {n: t.to(self.device).contiguous() for n, t in tensors.items()}
        outs = self._bind(ctx, bound, outputs)
        self._execute(ctx, stream)
        if cuda_graph and not any(s.name in self.allocator.shapes for s in outputs):
            slot.graphs[key] = self._capture(ctx, stream, bound, outs)
        if synchronize:
            stream.synchronize()
        return {s.name: self._take(s, outs) for s in outputs}

    def _bind(self, ctx: Any, tensors: Mapping[str, torch.Tensor], outputs: List[TensorSpec]
              ) -> Dict[str, Optional[torch.Tensor]]:
        for name, t in tensors.items():
            ctx.set_tensor_address(name, t.data_ptr())
        outs: Dict[str, Optional[torch.Tensor]] = {}
        for spec in outputs:
            shape = tuple(ctx.get_tensor_shape(spec.name))
            if -1 in shape:  # data-dependent: TensorRT asks the allocator once it knows the size
                ctx.set_output_allocator(spec.name, self.allocator)
                outs[spec.name] = None
            else:
                t = torch.empty(shape, dtype=spec.dtype, device=self.device)
                ctx.set_tensor_address(spec.name, t.data_ptr())
                outs[spec.name] = t
        return outs

    def _execute(self, ctx: Any, stream: torch.cuda.Stream) -> None:
        with self.capture.active():
            ok = ctx.execute_async_v3(stream.cuda_stream)
        if not ok:
            raise BackendError("TensorRT execution failed: " + "; ".join(self.capture.take()))

    def _capture(self, ctx: Any, stream: torch.cuda.Stream, inputs: Dict[str, torch.Tensor],
                 outs: Dict[str, Optional[torch.Tensor]]) -> Tuple[Any, Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
        """Capture one enqueue (after a first run flushed TensorRT's deferred work) into a CUDA graph; its addresses
        are the static buffers that later calls of the same shapes copy into."""
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=stream):
            self._execute(ctx, stream)
        return graph, inputs, {n: t for n, t in outs.items() if t is not None}

    def _take(self, spec: TensorSpec, outs: Mapping[str, Optional[torch.Tensor]]) -> torch.Tensor:
        t = outs[spec.name]
        if t is not None:
            return t
        shape = self.allocator.shapes[spec.name]
        n = int(torch.tensor(shape).prod()) if shape else 1
        nbytes = n * torch.empty((), dtype=spec.dtype).element_size()
        return self.allocator.buffers[spec.name][:nbytes].view(spec.dtype).reshape(shape).clone()

    def device_memory(self) -> int:
        """Bytes of device memory the engine's execution contexts need (TensorRT's own figure)."""
        size = getattr(self.engine, "device_memory_size_v2", None)
        return int(size if size is not None else self.engine.device_memory_size)
