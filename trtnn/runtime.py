"""Execute serialized engines on an NVIDIA GPU (TensorRT's name-based tensor API, torch CUDA tensors as buffers).

Needs a GPU the backend supports (TensorRT-RTX: compute capability 8.0, 8.6, 8.9, 12.x) and a CUDA build of
PyTorch. `trtnn info` says whether this machine qualifies; elsewhere use `trtnn.reference` (CPU executor).
"""
from __future__ import annotations

import os
import time
from typing import Any, Dict, List, Mapping, Sequence, Union

import numpy as np
import torch

from . import backend, dtypes
from .compile import Engine, TensorInfo
from .errors import BackendError, FileError, InputError

Inputs = Union[Mapping[str, Any], Sequence[Any]]


class Runner:
    """One engine, one execution context: `Runner(engine)(inputs) -> {output name: torch CUDA tensor}`."""

    def __init__(self, engine: Union[Engine, bytes, str], device: int = 0) -> None:
        backend.require_runtime()
        if not torch.cuda.is_available():
            raise BackendError("running engines needs a CUDA build of PyTorch (torch.cuda.is_available() is False)")
        trt = backend.get()
        plan = engine.plan if isinstance(engine, Engine) else engine
        if isinstance(plan, (str, os.PathLike)):
            try:
                with open(plan, "rb") as f:
                    plan = f.read()
            except OSError as e:
                raise FileError(f"cannot read the engine file '{plan}': {e.strerror or e}") from None
        self.device = torch.device("cuda", device)
        torch.cuda.set_device(self.device)
        self.capture = backend.Capture()  # TensorRT's errors about this runner (and only this one)
        self.runtime = trt.Runtime(backend.logger())
        with self.capture.active():
            self.engine = self.runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise BackendError("TensorRT could not deserialize the engine: " + "; ".join(self.capture.take()))
        with self.capture.active():
            self.context = self.engine.create_execution_context()
        if self.context is None:
            raise BackendError("TensorRT could not create an execution context: " + "; ".join(self.capture.take()))
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        info = lambda n: TensorInfo(n, tuple(self.engine.get_tensor_shape(n)),  # noqa: E731
                                    dtypes.to_torch(self.engine.get_tensor_dtype(n)))
        is_input = lambda n: self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT  # noqa: E731
        self.inputs: List[TensorInfo] = [info(n) for n in names if is_input(n)]
        self.outputs: List[TensorInfo] = [info(n) for n in names if not is_input(n)]

    def _bind_inputs(self, inputs: Inputs) -> List[torch.Tensor]:
        if not isinstance(inputs, Mapping):
            if len(inputs) != len(self.inputs):
                raise InputError(f"expected {len(self.inputs)} inputs {[i.name for i in self.inputs]}, got {len(inputs)}")
            inputs = {i.name: v for i, v in zip(self.inputs, inputs)}
        unknown = set(inputs) - {i.name for i in self.inputs}
        if unknown:
            raise InputError(f"unknown input(s) {sorted(unknown)}; the engine takes {[i.name for i in self.inputs]}")
        keep = []
        for spec in self.inputs:
            if spec.name not in inputs:
                raise InputError(f"missing input '{spec.name}' of shape {spec.shape} ({dtypes.short(spec.dtype)})")
            value = inputs[spec.name]
            try:
                t = torch.from_numpy(np.ascontiguousarray(value)) if isinstance(value, np.ndarray) else torch.as_tensor(value)
            except (TypeError, ValueError, RuntimeError) as e:
                raise InputError(f"input '{spec.name}': cannot use a {type(value).__name__} as a tensor: {e}") from None
            if t.dim() != len(spec.shape) or any(e >= 0 and e != g for e, g in zip(spec.shape, t.shape)):
                raise InputError(f"input '{spec.name}': expected shape {spec.shape}, got {tuple(t.shape)}")
            t = t.to(self.device, spec.dtype).contiguous()
            with self.capture.active():
                ok = self.context.set_input_shape(spec.name, tuple(t.shape))
            if not ok:
                raise InputError(f"input '{spec.name}': shape {tuple(t.shape)} is outside the engine's profile: "
                                 + "; ".join(self.capture.take()))
            self.context.set_tensor_address(spec.name, t.data_ptr())
            keep.append(t)
        return keep

    def __call__(self, inputs: Inputs) -> Dict[str, torch.Tensor]:
        keep = self._bind_inputs(inputs)
        outs = {}
        for spec in self.outputs:
            t = torch.empty(tuple(self.context.get_tensor_shape(spec.name)), dtype=spec.dtype, device=self.device)
            self.context.set_tensor_address(spec.name, t.data_ptr())
            outs[spec.name] = t
        stream = torch.cuda.current_stream(self.device)
        with self.capture.active():
            ok = self.context.execute_async_v3(stream.cuda_stream)
        if not ok:
            raise BackendError("TensorRT execution failed: " + "; ".join(self.capture.take()))
        stream.synchronize()
        del keep
        return outs

    def benchmark(self, inputs: Inputs, iterations: int = 100, warmup: int = 10) -> Dict[str, float]:
        """Latency of repeated executions (ms): median, mean, p90."""
        for _ in range(warmup):
            self(inputs)
        times = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            self(inputs)
            times.append((time.perf_counter() - t0) * 1e3)
        times.sort()
        return {"median_ms": times[len(times) // 2], "mean_ms": sum(times) / len(times),
                "p90_ms": times[int(len(times) * 0.9)]}
