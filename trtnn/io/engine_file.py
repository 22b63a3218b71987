"""Engine files on disk: trtnn's plan + `<plan>.json`, and ultralytics' `.engine` (metadata inside the file).

Ultralytics' layout (its exporter writes it, its TensorRT backend reads it): a 4-byte little-endian signed length N,
then N bytes of UTF-8 JSON (ASCII-escaped, so N counts characters and bytes alike), then the serialized plan. Its
keys: description, author, date, version, license, docs, stride (int), task, batch (int), imgsz ([h, w]), names
({"0": name}), args ({batch, dynamic, half, int8, nms, ...}), channels (int), end2end (bool), and for pose
kpt_shape ([K, 3]). trtnn adds its own sidecar under "trtnn", which ultralytics ignores.
"""
from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional

from ..errors import ConfigError, FileError
from .files import PathLike, atomic_write_bytes
from .sidecar import sidecar_path

PLAN_MAGIC = {b"ftrt": "tensorrt", b"vtrt": "tensorrt_rtx"}  # first 4 bytes of a serialized plan
MAX_HEADER = 1 << 24  # a JSON header past 16 MB is not ultralytics metadata


@dataclass
class EngineFile:
    """A plan and what is known about it: `metadata` is trtnn's sidecar schema (possibly rebuilt from ultralytics'
    keys), `ultralytics` the header as ultralytics wrote it (None for trtnn files), `format` 'trtnn' | 'ultralytics' |
    'plan' (a bare plan without metadata)."""

    path: str
    plan: bytes
    metadata: Dict[str, Any]
    format: str
    ultralytics: Optional[Dict[str, Any]] = None

    @property
    def plan_backend(self) -> Optional[str]:
        """'tensorrt' or 'tensorrt_rtx' from the plan's magic bytes; None when unknown."""
        return PLAN_MAGIC.get(self.plan[:4])


def split_ultralytics(data: bytes) -> "tuple[Optional[Dict[str, Any]], bytes]":
    """(header dict, plan) when `data` starts with ultralytics' length + JSON object; (None, data) otherwise. A
    header that claims a length but is not a JSON object is not one (a bare plan starts with its magic bytes)."""
    if len(data) < 4 or data[:4] in PLAN_MAGIC:
        return None, data
    n = int.from_bytes(data[:4], byteorder="little", signed=True)
    if not 2 <= n <= min(MAX_HEADER, len(data) - 4):
        return None, data
    try:
        meta = json.loads(data[4:4 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, data
    return (meta, data[4 + n:]) if isinstance(meta, dict) else (None, data)


def ultralytics_header(metadata: Dict[str, Any]) -> Dict[str, Any]:
    """Ultralytics' metadata for an engine with trtnn's sidecar `metadata` (types as its exporter writes them)."""
    from .. import __version__

    check_ultralytics_io(metadata)
    task = metadata.get("task") or "detect"
    image = metadata["inputs"][0]
    shape = image["shape"]
    imgsz = metadata.get("imgsz") or (list(shape[-2:]) if len(shape) == 4 else None)
    if imgsz is None:
        raise ConfigError("ultralytics' header needs the image size: the engine metadata has no imgsz and its first "
                          "input is not an image batch")
    profiles = metadata.get("profiles") or []
    batch = int(shape[0]) if shape and shape[0] > 0 else \
        max((p[image["name"]][2][0] for p in profiles if image.get("name") in p), default=1)
    names = {str(k): v for k, v in (metadata.get("names") or {}).items()}
    header = {
        "description": f"trtnn {metadata.get('target', 'engine')} ({metadata.get('precision') or 'fp32'})",
        "author": "trtnn", "date": datetime.datetime.now().isoformat(), "version": __version__,
        "license": "the model's own", "docs": "trtnn README, section Run, serve and ship engines",
        "stride": int(metadata.get("stride") or 32), "task": task, "batch": batch,
        "imgsz": [int(v) for v in imgsz], "names": names,
        "args": {"batch": batch, "dynamic": image.get("shape", [1])[0] == -1,
                 "half": "fp16" in str(metadata.get("precision")), "int8": "int8" in str(metadata.get("precision")),
                 "nms": False},
        "channels": 3, "end2end": False,
    }
    if task == "pose":
        kpts = [o for o in metadata.get("outputs", []) if o.get("name") == "det_keypoints"]
        header["kpt_shape"] = list(kpts[0]["shape"][-2:]) if kpts else list(metadata.get("kpt_shape") or [17, 3])
    header["trtnn"] = dict(metadata)
    return header


def check_ultralytics_io(metadata: Dict[str, Any]) -> None:
    """ConfigError unless ultralytics can feed and decode the engine: one float NCHW input named 'images' (its
    backend binds that name) and the raw head outputs (its own NMS follows; trtnn's end-to-end outputs differ)."""
    inputs, outputs = metadata.get("inputs") or [], metadata.get("outputs") or []
    names = [i.get("name") for i in inputs]
    if names != ["images"] or len(inputs[0].get("shape", [])) != 4 or inputs[0].get("dtype") not in ("fp32", "fp16"):
        got = ", ".join(f"{i.get('name')} {i.get('shape')} {i.get('dtype')}" for i in inputs) or "none"
        raise ConfigError(f"--format ultralytics: ultralytics feeds one float NCHW input named 'images'; this engine "
                          f"takes {got} (build without --preprocess, --orig-size and --runtime-thresholds)")
    if any(o.get("name") == "num_dets" for o in outputs):
        raise ConfigError("--format ultralytics: ultralytics decodes the raw head outputs with its own NMS; this "
                          "engine has trtnn's end-to-end outputs (num_dets, det_*): build without --end2end, or keep "
                          "the trtnn format and run it with trtnn.runtime.Runner")


def encode_ultralytics(plan: bytes, header: Dict[str, Any]) -> bytes:
    text = json.dumps(header, ensure_ascii=True)  # ASCII: the length ultralytics writes (characters) = bytes
    return len(text).to_bytes(4, byteorder="little", signed=True) + text.encode("utf-8") + bytes(plan)


def write_ultralytics(path: PathLike, plan: bytes, metadata: Dict[str, Any]) -> Dict[str, Any]:
    """Write `plan` as an ultralytics .engine file (header from trtnn's `metadata`), atomically; returns the header."""
    header = ultralytics_header(metadata)
    atomic_write_bytes(path, encode_ultralytics(plan, header), what="engine")
    return header


def from_ultralytics(header: Dict[str, Any]) -> Dict[str, Any]:
    """trtnn's metadata schema from an ultralytics header (trtnn's own copy when trtnn wrote the file)."""
    if isinstance(header.get("trtnn"), dict):
        return dict(header["trtnn"])
    names = header.get("names") or {}
    if isinstance(names, str):  # some exporters stringify it (ultralytics literal_evals it)
        names = {}
    if isinstance(names, list):
        names = dict(enumerate(names))
    return {"schema": "ultralytics", "task": header.get("task"), "names": {str(k): v for k, v in names.items()},
            "imgsz": header.get("imgsz"), "stride": header.get("stride"), "batch": header.get("batch"),
            "kpt_shape": header.get("kpt_shape"), "inputs": [], "outputs": []}


def read_engine_file(path: PathLike) -> EngineFile:
    """Read a plan with its metadata: ultralytics' header inside the file, else trtnn's `<path>.json` beside it."""
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise FileError(f"cannot read the engine file '{path}': {e.strerror or e}") from None
    if not data:
        raise FileError(f"engine file '{path}' is empty")
    header, plan = split_ultralytics(data)
    if header is not None:
        return EngineFile(path, plan, from_ultralytics(header), "ultralytics", header)
    side = sidecar_path(path)
    if os.path.exists(side):
        try:
            with open(side, encoding="utf-8") as f:
                meta = json.load(f)
        except (OSError, ValueError) as e:
            raise FileError(f"engine metadata '{side}' cannot be read as JSON: {e}") from None
        if not isinstance(meta, dict):
            raise FileError(f"engine metadata '{side}': expected a JSON object, got {type(meta).__name__}")
        return EngineFile(path, plan, meta, "trtnn")
    return EngineFile(path, plan, {}, "plan")


def plan_requirements(file: EngineFile) -> Dict[str, Any]:
    """What running the plan needs, from its magic bytes and metadata: TensorRT flavour and version, GPUs, flags."""
    meta = file.metadata
    flavour = file.plan_backend or meta.get("backend")
    built = meta.get("build") or {}
    version = meta.get("tensorrt_version")
    facts: Dict[str, Any] = {"file": file.path, "format": file.format, "plan_bytes": len(file.plan),
                             "plan_backend": file.plan_backend or "unknown (no TensorRT plan magic bytes)",
                             "built_with": f"{meta.get('backend')} {version}" if version else "unknown (no metadata)",
                             "build": built}
    if flavour == "tensorrt_rtx":
        ccs = built.get("compute_capabilities") or []
        facts["needs_tensorrt"] = f"TensorRT-RTX {version or '?'} runtime (same version)"
        facts["needs_gpu"] = ("compute capability " + ", ".join(ccs) if ccs else
                              "compute capability 8.0, 8.6, 8.9 or 12.x (kernels compiled on it at first run)")
    elif flavour == "tensorrt":
        facts["needs_tensorrt"] = (f"TensorRT >= {version or '?'} (version-compatible)" if built.get("version_compatible")
                                   else f"TensorRT {version or '?'} exactly (plans are tied to their version)")
        level = built.get("hardware_compat")
        facts["needs_gpu"] = {"ampere+": "any Ampere or newer GPU (compute capability >= 8.0)",
                              "same-cc": "any GPU of the build GPU's compute capability"}.get(
            level, "the GPU model it was built on (build with --hardware-compat for others)")
    if built.get("weights_stripped"):
        facts["needs_weights"] = "refit before use: trtnn refit PLAN WEIGHTS (weights were stripped)"
    return facts
