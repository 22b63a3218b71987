"""The model registry: one `ModelSpec` per family says how to make, configure, feed and wrap its models.

The CLI, tools and examples look families up here; adding a family = one models file + its spec in `specs.py`.
"""
from __future__ import annotations

import fnmatch
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Dict, List, Mapping, Optional, Sequence, Tuple

from ..errors import ConfigError, TrtnnError
from ..graph.module import Module

log = logging.getLogger("trtnn.models")
StateDict = Mapping[str, Any]


def numel(state: StateDict, key: str) -> Optional[int]:
    """Element count of `state[key]`, or None: works on flat 1-D tensors (tensorrtx .wts) as on shaped ones."""
    value = state.get(key)
    return None if value is None else int(value.numel() if hasattr(value, "numel") else value.size)


@dataclass(frozen=True)
class ModelSpec:
    """A family of registered models (e.g. 'yolov8': yolov8n ... yolov8x).

    variants: registered name -> factory taking the family's keyword arguments.
    config_from_state_dict: state_dict (shaped or flat 1-D tensors) -> factory kwargs (class count, channels...).
    with_classes: (kwargs, nc) -> kwargs with the class count set (how `--nc` maps into the factory).
    end2end: (model, options) -> the end-to-end wrapper (with `.inputs(imgsz, batch, max_batch)`), or None;
    end2end_defaults: the options it takes and their CLI defaults (conf, iou, max_det, pre_nms_topk);
    end2end_note: why the options it does not take are refused.
    unused_keys: glob patterns of checkpoint keys the family knows are unused (dropped with a log line when the
    model has no such key).
    stride: image sizes must be a multiple of it. in_channels: model -> channels of its image input.
    task: what the end-to-end engine outputs (the meanings are in trtnn/models/outputs.py).
    preprocess: how the raw model's input is made from an image, for calibration folders (a key of
    trtnn.quant.PREPROCESS: letterbox, classify, unet, centernet).
    """

    family: str
    variants: Mapping[str, Callable[..., Module]]
    config_from_state_dict: Callable[[StateDict], Dict[str, Any]]
    with_classes: Callable[[Dict[str, Any], int], Dict[str, Any]]
    imgsz: Tuple[int, int]
    input_name: str = "input"
    stride: int = 1
    in_channels: Callable[[Module], int] = lambda model: 3
    end2end: Optional[Callable[[Module, Dict[str, Any]], Module]] = None
    end2end_defaults: Mapping[str, Any] = field(default_factory=dict)
    end2end_note: str = ""
    unused_keys: Sequence[str] = ()
    mask: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None  # kwargs -> kwargs that also output a mask
    task: str = "detect"  # detect | segment | pose | obb | classify | semantic-segment (engine sidecar, outputs.py)
    preprocess: str = "letterbox"
    quant_exclude: Sequence[str] = ("DFL",)  # module types / paths never quantized by default, where the model has them


def quant_defaults(model: Module) -> List[str]:
    """The module paths of `model` that registered specs' `quant_exclude` name (by type or path): kept out of
    INT8/FP8 by default (YOLO's DFL convolution, whose 16 fixed weights read a softmax that per-tensor INT8 cannot
    resolve)."""
    names = {e for s in SPECS.values() for e in s.quant_exclude}
    return [path for path, m in model.named_modules() if path and (type(m).__name__ in names or path in names)]


def drop_keys(state: Mapping[str, Any], patterns: Sequence[str], name: str, keep: Collection[str] = ()) -> Dict[str, Any]:
    """`state` without the keys matching any glob in `patterns` (except those in `keep`), logged as ignored for
    model `name`."""
    dropped = [k for k in state if k not in keep and any(fnmatch.fnmatchcase(k, p) for p in patterns)]
    if dropped:
        log.warning("%s: ignoring %d checkpoint key(s) the model does not use: %s", name, len(dropped),
                    ", ".join(dropped[:8]) + (" ..." if len(dropped) > 8 else ""))
    return {k: v for k, v in state.items() if k not in dropped}


class UnknownModelError(ConfigError, KeyError):
    """A model name that is not registered (a KeyError too, as a dict lookup would give)."""

    __str__ = TrtnnError.__str__


SPECS: Dict[str, ModelSpec] = {}  # registered model name -> its family's spec


def register(spec: ModelSpec) -> ModelSpec:
    """Add a family; its variant names must be new."""
    taken = sorted(set(spec.variants) & set(SPECS))
    if taken:
        raise ConfigError(f"model family {spec.family!r}: names already registered: {', '.join(taken)}")
    SPECS.update((name, spec) for name in spec.variants)
    return spec


def spec(name: str) -> ModelSpec:
    """The spec of registered model `name`; ConfigError listing the names otherwise."""
    try:
        return SPECS[name]
    except KeyError:
        raise UnknownModelError(f"unknown model {name!r}; registered models: {', '.join(SPECS)}") from None


def from_checkpoint(name: str, path: str, *, ignore_keys: Sequence[str] = (), **overrides: Any) -> Module:
    """Registered model `name` configured from the checkpoint at `path` (class count etc. read off it; `overrides`
    win) with its weights loaded strictly. Keys the family knows are unused, and `ignore_keys` globs, are dropped."""
    from ..io.checkpoint import load_checkpoint

    s = spec(name)
    state = drop_keys(load_checkpoint(path), ignore_keys, name)
    model = s.variants[name](**{**s.config_from_state_dict(state), **overrides})
    load_weights(model, state, name)
    return model


def load_weights(model: Module, state: Mapping[str, Any], name: str) -> None:
    """Load a checkpoint's state_dict into registered model `name` strictly, without copying (keys its family knows
    are unused dropped); a checkpoint of another task of the same family (see `TASKS`: a -seg, -pose, -obb or -cls
    file for a detection name, a detection file for a -seg name, ...) is refused naming the model to use."""
    other, task = other_task_model(state, name)
    if other is not None:
        raise ConfigError(f"{name}: the checkpoint holds a {task} model; use {other}")
    state = drop_keys(state, SPECS[name].unused_keys, name, keep=model.state_dict())
    model.load_state_dict(state, strict=True, assign=True)


@dataclass(frozen=True)
class Task:
    """A model task told apart by its head: registered names end with `suffix`; a checkpoint is of this task when
    one of its keys fully matches `key` and, with `channels`, that tensor's element count (a bias: the head's output
    channels) is in the range."""

    suffix: str
    name: str
    key: str
    channels: Optional[range] = None

    def matches(self, state: StateDict) -> bool:
        return any(re.fullmatch(self.key, k) and (self.channels is None or numel(state, k) in self.channels)
                   for k in state)


DETECTION = Task("", "detection", r"model\.\d+\.cv3\.0\.2\.bias")  # a YOLO Detect head's class branch
TASKS: Tuple[Task, ...] = (  # the first entry a checkpoint matches is its task; none: detection (if DETECTION matches)
    Task("-seg", "segmentation", r"model\.\d+\.proto\..+"),
    Task("-pose", "pose", r"model\.\d+\.cv4_kpts\.0\.bias"),  # YOLO26: keypoints apart from the flow model's sigmas
    Task("-pose", "pose", r"model\.\d+\.cv4\.0\.2\.bias", range(2, 1 << 31)),  # v8/11: K * D keypoint values
    Task("-obb", "oriented-box", r"model\.\d+\.cv4\.0\.2\.bias", range(1, 2)),  # one angle per anchor
    Task("-cls", "classification", r"model\.\d+\.linear\.bias"),  # Classify
)


def checkpoint_task(state: StateDict) -> Optional[Task]:
    """The task whose head `state` holds (`TASKS`, else `DETECTION`), or None for other models."""
    return next((t for t in TASKS if t.matches(state)), DETECTION if DETECTION.matches(state) else None)


def other_task_model(state: StateDict, name: str) -> Tuple[Optional[str], str]:
    """(the registered model of the checkpoint's task in `name`'s family, that task's name) when the checkpoint
    is of another task than `name`; (None, '') when it fits or no such model is registered."""
    task = checkpoint_task(state)
    suffix = next((t.suffix for t in TASKS if name.endswith(t.suffix)), "")
    if task is None or task.suffix == suffix:
        return None, ""
    other = name[:len(name) - len(suffix)] + task.suffix
    return (other, task.name) if other in SPECS else (None, "")
