"""What an ultralytics checkpoint says about its model besides the weights (class names, task, image size,
strides, yaml), read through the safe unpickler."""
from __future__ import annotations

import os
from typing import Any, Dict, Mapping, Optional, Union

import torch

from ...errors import CheckpointError
from .detect import PICKLED, detect, existing_file, reason
from .objects import module_state

PathLike = Union[str, "os.PathLike[str]"]


def class_names(value: Any) -> Optional[Dict[int, str]]:
    """ultralytics' `names` (dict id -> name, or a list) as {int: str}, else None."""
    if isinstance(value, (list, tuple)):
        value = dict(enumerate(value))
    if isinstance(value, Mapping) and value and all(isinstance(k, int) for k in value):
        return {int(k): str(v) for k, v in sorted(value.items())}
    return None


def read_metadata(path: PathLike) -> Dict[str, Any]:
    """What a checkpoint says about its model besides the weights, read safely (nothing in the file runs): for
    ultralytics files `names` ({class id: name}), `task`, `imgsz`, `stride` (list), `yaml` (the model's yaml
    file name), `ultralytics_version` and `end2end` (the head's flag as ultralytics 8.4 stores it, `_end2end`, or
    an older file's `end2end`: whether predict runs the one-to-one branch), each only when present. Files without
    such metadata (plain state_dicts, safetensors, .npz, .wts) give {}."""
    path = existing_file(path)
    try:
        kind = detect(path)
        obj = PICKLED[kind](path) if kind in PICKLED else None
    except Exception as e:
        raise CheckpointError(f"cannot read the metadata of checkpoint '{path}': {reason(e)}") from e
    if not isinstance(obj, Mapping):
        return {}
    model = next((s for s in (module_state(obj.get(k)) for k in ("ema", "model")) if s is not None), {})
    train_args = obj.get("train_args") if isinstance(obj.get("train_args"), Mapping) else {}
    model_args = model.get("args") if isinstance(model.get("args"), Mapping) else {}
    out: Dict[str, Any] = {}
    names = class_names(model.get("names"))
    if names:
        out["names"] = names
    for key in ("task", "imgsz"):
        value = train_args.get(key, model_args.get(key))
        if isinstance(value, (str, int, list)):
            out[key] = value
    stride = model.get("stride")
    if isinstance(stride, torch.Tensor):
        out["stride"] = [int(s) for s in stride.tolist()]
    yaml = model.get("yaml")
    if isinstance(yaml, Mapping) and isinstance(yaml.get("yaml_file"), str):
        out["yaml"] = yaml["yaml_file"]
    if isinstance(obj.get("version"), str):
        out["ultralytics_version"] = obj["version"]
    modules = model.get("_modules") if isinstance(model.get("_modules"), Mapping) else {}
    layers = module_state(modules.get("model"))
    head = module_state(list(layers["_modules"].values())[-1]) if layers and layers["_modules"] else None
    flag = next((head[k] for k in ("_end2end", "end2end") if head and isinstance(head.get(k), bool)), None)
    if flag is not None:
        out["end2end"] = flag
    return out
