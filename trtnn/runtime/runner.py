"""`Runner`: one API for a serialized engine on a GPU and for a network definition on the CPU executor.

    runner = Runner("yolov8n.plan")                       # GPU: plan + yolov8n.plan.json (or an ultralytics .engine)
    runner = Runner(trtnn.define(model, inputs), device="cpu", metadata=meta)   # CPU executor, same code paths
    outputs = runner({"images": batch})                    # {name: tensor}; profile picked from the shapes
    results = runner.predict([cv2.imread("a.jpg")])        # end-to-end engines: one Results per image

Binding, profile selection, batching (a batch larger than every profile runs in chunks), results and drawing are
the same for both devices; only the execution differs (runtime/gpu.py holds the TensorRT calls)."""
from __future__ import annotations

import os
import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

import numpy as np
import torch

from ..compile import Engine, Network
from ..compile.lifecycle import check_profiles
from ..errors import BackendError, ConfigError
from ..io.engine_file import read_engine_file
from ..reference import Executor
from .bindings import Inputs, TensorSpec, batch_chunks, bind, concat_chunks, profiles_from, select_profile
from .images import image_hw, masks_to_original, orig_sizes, prepare
from .results import Results, results_from

Source = Union[Network, Engine, bytes, str, "os.PathLike[str]"]


def _device(device: Union[str, int, torch.device]) -> torch.device:
    try:
        dev = torch.device("cuda", device) if isinstance(device, int) else torch.device(device)
    except (RuntimeError, TypeError):
        raise ConfigError(f"device must be 'cpu', 'cuda', 'cuda:N' or an int, got {device!r}") from None
    if dev.type not in ("cpu", "cuda"):
        raise ConfigError(f"device must be 'cpu' or a CUDA device, got {device!r}")
    return dev


class Runner:
    """Run an engine (GPU) or a network definition (device='cpu') with shapes chosen per call.

    source: a trtnn Network (device='cpu'), or an Engine, plan bytes or engine file path (a CUDA device).
    metadata: the engine's sidecar dict (default: read beside / inside the engine file; for a Network, optional).
    profiles: (CPU) the optimization profiles a built engine would have beyond the Inputs' own (BuildOptions.profiles).
    contexts: execution contexts for concurrent calls from several threads (GPU).
    cuda_graph: capture each input-shape combination into a CUDA graph and replay it (GPU).
    runtime_cache: TensorRT-RTX runtime cache file (kernels compiled at run time), loaded and saved by `close()`."""

    def __init__(self, source: Source, device: Union[str, int, torch.device] = "cuda", *,
                 metadata: Optional[Mapping[str, Any]] = None, profiles: Sequence[Mapping[str, Any]] = (),
                 contexts: int = 1, cuda_graph: bool = False, runtime_cache: Optional[str] = None) -> None:
        self.device = _device(device)
        if not isinstance(contexts, int) or isinstance(contexts, bool) or contexts < 1:
            raise ConfigError(f"contexts must be an int >= 1, got {contexts!r}")
        self.cuda_graph = bool(cuda_graph)
        meta: Dict[str, Any] = {}
        if self.device.type == "cpu":
            if not isinstance(source, Network):
                raise BackendError("a serialized engine runs only on an NVIDIA GPU; on the CPU, run the network "
                                   "definition: Runner(trtnn.define(model, inputs), device='cpu') (or `trtnn run "
                                   "MODEL --weights W IMAGES --device cpu`)")
            if cuda_graph or contexts != 1 or runtime_cache:
                raise ConfigError("cuda_graph, contexts and runtime_cache are for GPU engines, not device='cpu'")
            self._executor = Executor(source.network)  # the runner checks the profiles itself (all of them)
            self.inputs = [TensorSpec(i.name, tuple(i.shape), i.dtype) for i in source.inputs]
            self.outputs = [TensorSpec(o.name, tuple(o.shape), o.dtype) for o in source.outputs]
            shapes = check_profiles(source.inputs, list(profiles)) if any(i.is_dynamic for i in source.inputs) else []
            self.profiles = profiles_from(shapes)
            self._gpu = None
        else:
            if profiles:
                raise ConfigError("profiles= is for device='cpu': an engine's profiles are in the plan")
            plan = source
            if isinstance(source, Engine):
                plan = bytes(source.plan)
            elif isinstance(source, (str, os.PathLike)):
                file = read_engine_file(source)
                plan, meta = file.plan, file.metadata
            elif not isinstance(source, (bytes, bytearray, memoryview)):
                raise ConfigError(f"Runner takes an engine file path, plan bytes, a trtnn.Engine or (device='cpu') a "
                                  f"trtnn Network, got {type(source).__name__}")
            from .gpu import GpuExecutor  # TensorRT runtime objects only where a GPU path is asked for

            self._gpu = GpuExecutor(bytes(plan), self.device, contexts, runtime_cache)
            self.inputs, self.outputs = self._gpu.io()
            self.profiles = self._gpu.profiles(self.inputs)
        self.metadata: Dict[str, Any] = dict(metadata if metadata is not None else meta)
        described = {d.get("name"): d.get("meaning", "") for d in self.metadata.get("inputs", []) +
                     self.metadata.get("outputs", [])}
        self.inputs = [TensorSpec(s.name, s.shape, s.dtype, described.get(s.name, "")) for s in self.inputs]
        self.outputs = [TensorSpec(s.name, s.shape, s.dtype, described.get(s.name, "")) for s in self.outputs]

    # ---- metadata ----
    @property
    def names(self) -> Dict[int, str]:
        """Class names from the metadata (ids as text when it has none)."""
        return {int(k): v for k, v in (self.metadata.get("names") or {}).items()}

    @property
    def task(self) -> Optional[str]:
        return self.metadata.get("task")

    # ---- running ----
    def __call__(self, inputs: Inputs, *, stream: Optional[Any] = None) -> Dict[str, torch.Tensor]:
        """{output name: tensor} (on the runner's device) for `inputs` (a dict, a list in input order, or the one
        input); the profile is chosen from the shapes; a batch larger than every profile runs in chunks. On a GPU,
        `stream` (torch.cuda.Stream) makes the call asynchronous on it (the caller synchronizes)."""
        tensors = bind(self.inputs, inputs, self.device)
        chunks = batch_chunks(tensors, self.profiles)
        return concat_chunks([self._run(c, stream) for c in chunks])

    def _run(self, tensors: Dict[str, torch.Tensor], stream: Optional[Any]) -> Dict[str, torch.Tensor]:
        profile = select_profile(self.profiles, {n: tuple(t.shape) for n, t in tensors.items()})
        if self._gpu is None:
            return self._executor(tensors)
        return self._gpu(tensors, self.outputs, profile, stream, self.cuda_graph)

    def predict(self, images: Union[np.ndarray, Sequence[np.ndarray]], **extra: Any) -> List[Results]:
        """One Results per image (HxWx3 BGR uint8, as cv2.imread gives) for an end-to-end engine: each image made
        into the engine's input as its family's pipeline does, `orig_size` filled when the engine has it (results then
        in the original image's pixels, else in the network input's), thresholds from `extra` (conf_thres=...)."""
        images = [images] if isinstance(images, np.ndarray) else list(images)
        if not images:
            raise ConfigError("predict needs at least one image")
        image = self.inputs[0]
        opt = self.profiles[0].shapes[image.name][1] if self.profiles and image.name in self.profiles[0].shapes \
            else None
        hw = image_hw(image, self.metadata, opt)
        batch, seen, geometry = prepare(images, image, self.metadata, hw)
        feed: Dict[str, Any] = {image.name: batch}
        for spec in self.inputs[1:]:
            if spec.name == "orig_size":
                feed[spec.name] = orig_sizes(images)
            elif spec.name in extra:
                feed[spec.name] = torch.tensor([float(extra.pop(spec.name))], dtype=spec.dtype)
            else:
                thresholds = self.metadata.get("thresholds") or {}
                key = spec.name.replace("_thres", "")
                if key not in thresholds:
                    raise ConfigError(f"predict: give {spec.name}= (the engine takes it at run time)")
                feed[spec.name] = torch.tensor([float(thresholds[key])], dtype=spec.dtype)
        if extra:
            raise ConfigError(f"predict: unknown argument(s) {sorted(extra)}; the engine's extra inputs are "
                              f"{[s.name for s in self.inputs[1:]]}")
        outputs = self(feed)
        results = results_from(outputs, self.task, self.names, self.metadata.get("kpt_names"))
        original = any(s.name == "orig_size" for s in self.inputs)
        for k, r in enumerate(results):
            r.image = images[k] if original else seen[k]
            if original and r.masks is not None:
                r.masks = masks_to_original(r.masks, geometry[k], images[k].shape[:2])
        return results

    def benchmark(self, inputs: Inputs, iterations: int = 100, warmup: int = 10) -> Dict[str, float]:
        """Latency of synchronous calls (ms): p50, p90, p99, mean, min; throughput in samples / s (dim 0 of the first
        input)."""
        tensors = bind(self.inputs, inputs, self.device)
        for _ in range(warmup):
            self(tensors)
        times = []
        for _ in range(iterations):
            t0 = time.perf_counter()
            self(tensors)
            times.append((time.perf_counter() - t0) * 1e3)
        arr = np.array(times)
        batch = int(next(iter(tensors.values())).shape[0]) if tensors else 1
        return {"p50_ms": float(np.percentile(arr, 50)), "p90_ms": float(np.percentile(arr, 90)),
                "p99_ms": float(np.percentile(arr, 99)), "mean_ms": float(arr.mean()), "min_ms": float(arr.min()),
                "throughput": batch * 1e3 / float(arr.mean())}

    def device_memory(self) -> int:
        """Bytes of device memory an execution context of the engine needs (0 on the CPU)."""
        return 0 if self._gpu is None else self._gpu.device_memory()

    def close(self) -> None:
        """Save TensorRT-RTX's runtime cache (when one was given)."""
        if self._gpu is not None:
            self._gpu.save_runtime_cache()

    def __repr__(self) -> str:
        where = "cpu (reference executor)" if self._gpu is None else str(self.device)
        return (f"Runner({where}, inputs={self.inputs}, outputs={self.outputs}, "
                f"profiles={len(self.profiles)}, task={self.task})")
