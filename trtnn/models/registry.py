"""The model registry: one `ModelSpec` per family and task says how to make, configure, feed and wrap its models;
its `TaskSpec` says what they output and what each output means.

The CLI, tools, benchmarks and the engine sidecar look models up here (`spec`, `from_checkpoint`): a family or a YOLO
task is one file that defines its models, wrappers and spec, plus its `register(...)` call in that file (imported by
trtnn/models/__init__.py).
"""
from __future__ import annotations

import fnmatch
import logging
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..errors import ConfigError, StateDictError, TrtnnError
from ..graph.module import Module
from ..io.checkpoint import load_checkpoint, read_metadata
from .identify import explain_mismatch
from .vision.end2end import ImageEnd2End

log = logging.getLogger("trtnn.models")
StateDict = Mapping[str, Any]


def numel(state: StateDict, key: str) -> Optional[int]:
    """Element count of `state[key]`, or None: works on flat 1-D tensors (tensorrtx .wts) as on shaped ones."""
    value = state.get(key)
    return None if value is None else int(value.numel() if hasattr(value, "numel") else value.size)


HostPreprocess = Callable[[np.ndarray, Tuple[int, int]], np.ndarray]  # (BGR uint8 HxWx3, (h, w)) -> float32 CHW


@dataclass(frozen=True)
class TaskSpec:
    """What the models of one task (and head kind) output, and how their image input is made.

    name: detect | segment | pose | obb | classify | semantic-segment (the engine sidecar's `task`).
    outputs: the end-to-end engine's outputs -> meaning (empty when the task has no end-to-end wrapper).
    raw_outputs: the raw model's outputs -> meaning (engines built without --end2end).
    image_input: how the caller makes the image input (e.g. "letterboxed to imgsz ... by the caller").
    preprocess: that pipeline on the host, (BGR uint8 image, (h, w)) -> float32 CHW (calibration folders,
    evaluation); its name in trtnn.models.vision.host.PREPROCESS names it in calibration caches.
    one2many_raw_outputs: NMS-free heads (YOLOv10, YOLO26): the raw outputs when the head runs its one-to-many
    branch (raw_outputs describe the one-to-one branch).
    """

    name: str
    outputs: Mapping[str, str]
    raw_outputs: Mapping[str, str]
    image_input: str
    preprocess: HostPreprocess
    one2many_raw_outputs: Mapping[str, str] = field(default_factory=dict)

    def meanings(self, end2end: bool, branch: Optional[str] = None) -> Dict[str, str]:
        """Output name -> meaning of an engine built end to end, or of the raw model (of an NMS-free head's `branch`,
        'one2one' or 'one2many')."""
        if end2end:
            return dict(self.outputs)
        return dict(self.one2many_raw_outputs if branch == "one2many" else self.raw_outputs)


@dataclass(frozen=True)
class ModelSpec:
    """A family of registered models of one task (e.g. 'yolov8-seg': yolov8n-seg ... yolov8x-seg).

    variants: registered name -> factory taking the family's keyword arguments.
    task: what the models output (TaskSpec: outputs and their meanings, image input, host preprocessing).
    config_from_state_dict: state_dict (shaped or flat 1-D tensors) -> factory kwargs (class count, channels...).
    with_classes: (kwargs, nc) -> kwargs with the class count set (how `--nc` maps into the factory).
    num_classes: model -> its class count (the sidecar's names).
    end2end: (model, options) -> the end-to-end wrapper (with `.inputs(imgsz, batch, max_batch)` and
    `.thresholds()`), or None; end2end_defaults: the options it takes and their CLI defaults (conf, iou, max_det,
    pre_nms_topk); end2end_note: why the options it does not take are refused.
    unused_keys: glob patterns of checkpoint keys the family knows are unused (dropped with a log line when the
    model has no such key); optional_keys: globs of keys the model has that checkpoints may lack (they keep the
    model's own values, logged).
    stride: image sizes must be a multiple of it. in_channels: model -> channels of its image input.
    lineage: the architecture shared by the families of its other tasks (e.g. 'yolov8' for yolov8-seg), and
    scales: registered name -> its scale ('n', 's', ...): together they name the model of another task.
    """

    family: str
    variants: Mapping[str, Callable[..., Module]]
    task: TaskSpec
    config_from_state_dict: Callable[[StateDict], Dict[str, Any]]
    with_classes: Callable[[Dict[str, Any], int], Dict[str, Any]]
    num_classes: Callable[[Module], int]
    imgsz: Tuple[int, int]
    input_name: str = "input"
    stride: int = 1
    in_channels: Callable[[Module], int] = lambda model: 3
    end2end: Optional[Callable[[Module, Dict[str, Any]], Module]] = None
    end2end_defaults: Mapping[str, Any] = field(default_factory=dict)
    end2end_note: str = ""
    unused_keys: Sequence[str] = ()
    optional_keys: Sequence[str] = ()
    mask: Optional[Callable[[Dict[str, Any]], Dict[str, Any]]] = None  # kwargs -> kwargs that also output a mask
    lineage: str = ""
    scales: Mapping[str, str] = field(default_factory=dict)

    @property
    def preprocess(self) -> HostPreprocess:
        """The host preprocessing of the raw model's image input (the task's)."""
        return self.task.preprocess
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


SPECS: Dict[str, ModelSpec] = {}  # registered model name -> its family's spec (filled by register())


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


class RegisteredModels(Mapping[str, Callable[..., Module]]):
    """Registered name -> factory, read from the registry on every access (never stale after `register`)."""

    def __getitem__(self, name: str) -> Callable[..., Module]:
        return spec(name).variants[name]

    def __iter__(self) -> Iterator[str]:
        return iter(SPECS)

    def __len__(self) -> int:
        return len(SPECS)

    def __repr__(self) -> str:
        return f"RegisteredModels({', '.join(SPECS)})"


def describe_model(model: Module, spec: Optional[ModelSpec] = None) -> Dict[str, Any]:
    """The facts the engine sidecar takes from the module an engine is defined from (a registered model of `spec`,
    or its end-to-end wrapper): class count (the spec's; None without one), the wrapper's build-time thresholds and
    in-engine image layout. Small: the CLI keeps these and frees the model before building."""
    wrapper = model if isinstance(model, ImageEnd2End) else None
    raw = wrapper.model if wrapper is not None else model
    return {"nc": spec.num_classes(raw) if spec is not None else None,
            "thresholds": wrapper.thresholds() if wrapper is not None else None,
            "preprocess": wrapper.image_layout() if wrapper is not None else None}


def sidecar_meanings(spec: ModelSpec, end2end: bool, branch: Optional[str] = None) -> Dict[str, str]:
    """What each input and output of an engine of `spec`'s models means ('images' included; `branch`: the NMS-free
    head's), for the sidecar."""
    return {"images": spec.task.image_input, spec.input_name: spec.task.image_input,
            **spec.task.meanings(end2end, branch)}


HEADS = ("one2one", "one2many")  # the branches of an NMS-free head (YOLOv10, YOLO26)
HEAD_WORDS = {"one2one": "one2one top-k (NMS-free)", "one2many": "one2many + NMS"}


def head_branch(name: str, end2end: Optional[bool] = None, head: Optional[str] = None) -> Tuple[Optional[str], str]:
    """(branch, why) of the NMS-free head of registered model `name`: `head` ('one2one' / 'one2many') when given;
    else the checkpoint's flag `end2end` (trtnn.io.checkpoint.read_metadata's), read as ultralytics 8.4 reads it
    (`predict` runs the one-to-one branch only when it is on); else the family's default. (None, '') for models
    with a single head (a `head` is then refused)."""
    defaults = spec(name).end2end_defaults
    if head is not None and head not in HEADS:
        raise ConfigError(f"head={head!r}: expected one of {', '.join(HEADS)}")
    if "head" not in defaults:
        if head is not None:
            raise ConfigError(f"head={head!r}: {name} has a single detection head; head selects one of the two "
                              "heads of the YOLOv10 / YOLO26 models")
        return None, ""
    if head is not None:
        return head, "as asked"
    if end2end is not None:
        return ("one2one" if end2end else "one2many"), \
            f"from the checkpoint (its head's end2end flag is {'on' if end2end else 'off'})"
    return defaults["head"] or "one2one", "the family's default (no end2end flag in the checkpoint)"


def describe_head(branch: str, why: str) -> str:
    """'head: one2many + NMS, from the checkpoint (...); --head one2one for the NMS-free head' (build's line)."""
    other = HEADS[1 - HEADS.index(branch)]
    return f"head: {HEAD_WORDS[branch]}, {why}; --head {other} for {HEAD_WORDS[other]}"


def create(name: str, state: Optional[StateDict] = None, *, nc: Optional[int] = None, mask: bool = False,
           ignore_keys: Sequence[str] = (), head: Optional[str] = None, **overrides: Any) -> Module:
    """Registered model `name`, configured from the checkpoint's `state` when given (class count etc. read off it)
    and with its weights loaded strictly; `nc` sets the class count (as `--nc`), `mask` asks for the mask output
    (families with `ModelSpec.mask`), `head` the branch of an NMS-free head ('one2one' / 'one2many'; default: the
    family's), `overrides` are factory keywords and win. Keys the family knows are unused, and `ignore_keys` globs,
    are dropped."""
    s = spec(name)
    if mask and s.mask is None:
        raise ConfigError(f"{name}: no mask output (only {', '.join(n for n, o in SPECS.items() if o.mask)})")
    branch, _ = head_branch(name, head=head)
    if state is not None:
        state = drop_keys(state, ignore_keys, name)
        check_task(state, name)  # before the family reads its configuration off a head it assumes
    kwargs = s.config_from_state_dict(state) if state is not None else {}
    if nc is not None:
        kwargs = _with_classes(s, kwargs, nc) if state is not None else s.with_classes(kwargs, nc)
    if mask:
        kwargs = s.mask(kwargs)
    model = s.variants[name](**{**kwargs, **overrides})
    if state is not None:
        load_weights(model, state, name)
    if branch is not None:
        model.model[-1].end2end = branch == "one2one"
    return model


def _with_classes(s: ModelSpec, kwargs: Dict[str, Any], nc: int) -> Dict[str, Any]:
    """`nc` (--nc) with a checkpoint: it must agree with the class count read off the checkpoint's head."""
    changed = {k: v for k, v in s.with_classes(kwargs, nc).items() if k in kwargs and kwargs[k] != v}
    if changed:
        key = next(iter(changed))
        have = kwargs[key]
        if isinstance(have, dict):  # e.g. CenterNet's heads {'hm': classes, 'wh': 2, 'reg': 2}
            inner = next(k for k, v in changed[key].items() if have.get(k) != v)
            key, have = f"{key}[{inner!r}]", have.get(inner)
        raise ConfigError(f"--nc {nc} (nc={nc}): the checkpoint has {have} class{'es' * (have != 1)}; drop --nc (the "
                          f"class count is read off the checkpoint's head: {key}={have}) or give a checkpoint trained "
                          f"on {nc} classes")
    return s.with_classes(kwargs, nc)


def from_checkpoint(name: str, path: Any, *, ignore_keys: Sequence[str] = (), nc: Optional[int] = None,
                    mask: bool = False, head: Optional[str] = None, **overrides: Any) -> Module:
    """Registered model `name` configured from the checkpoint file at `path` (read safely) with its weights loaded
    strictly: `create(name, load_checkpoint(path), ...)`. An NMS-free head (YOLOv10, YOLO26) runs the branch its
    checkpoint selects (see `head_branch`), or `head`."""
    spec(name)  # an unknown name is refused before the file is read
    branch, _ = head_branch(name, read_metadata(path).get("end2end"), head)
    return create(name, load_checkpoint(path), nc=nc, mask=mask, ignore_keys=ignore_keys, head=branch, **overrides)


def load_weights(model: Module, state: Mapping[str, Any], name: str) -> None:
    """Load a checkpoint's state_dict into registered model `name` strictly, without copying (keys its family knows
    are unused dropped); a checkpoint of another task of the same family (see `TASKS`: a -seg, -pose, -obb or -cls
    file for a detection name, a detection file for a -seg name, ...) is refused naming the model to use."""
    check_task(state, name)
    s = SPECS[name]
    own = model.state_dict()
    state = drop_keys(state, s.unused_keys, name, keep=own)
    lacking = [k for k in own if k not in state and any(fnmatch.fnmatchcase(k, p) for p in s.optional_keys)]
    if lacking:
        log.info("%s: the checkpoint has no %s; keeping the model's own (unused at inference)", name,
                 ", ".join(lacking))
        state = {**state, **{k: own[k] for k in lacking}}
    try:
        model.load_state_dict(state, strict=True, assign=True)
    except StateDictError as e:  # a file of another YOLO family or size: say which registered model it holds
        same_task = {n: o for n, o in SPECS.items() if o.task.name == s.task.name and n in o.scales}
        hint = explain_mismatch(state, name, same_task) if name in same_task else None
        if hint is None:
            raise
        raise StateDictError(f"{hint}\n{e.message}", e.missing_keys, e.unexpected_keys) from None


def check_task(state: StateDict, name: str) -> None:
    """ConfigError when `state` holds another task of `name`'s family (a -seg, -pose, -obb, -cls or detection
    head), naming the registered model to use."""
    other, task = other_task_model(state, name)
    if other is not None:
        raise ConfigError(f"{name}: the checkpoint holds a {task} model; use {other}")


@dataclass(frozen=True)
class Task:
    """A YOLO task told apart by its head in a checkpoint: a checkpoint is of this task when one of its keys fully
    matches `key` and, with `channels`, that tensor's element count (a bias: the head's output channels) is in the
    range. task: the TaskSpec name of its models; name: how messages call it; suffix: the ultralytics model-name
    suffix (yolov8n-seg)."""

    suffix: str
    name: str
    key: str
    channels: Optional[range] = None
    task: str = "detect"

    def matches(self, state: StateDict) -> bool:
        return any(re.fullmatch(self.key, k) and (self.channels is None or numel(state, k) in self.channels)
                   for k in state)


DETECTION = Task("", "detection", r"model\.\d+\.cv3\.0\.2\.bias")  # a YOLO Detect head's class branch
TASKS: Tuple[Task, ...] = (  # the first entry a checkpoint matches is its task; none: detection (if DETECTION matches)
    Task("-seg", "segmentation", r"model\.\d+\.proto\..+", task="segment"),
    Task("-pose", "pose", r"model\.\d+\.cv4_kpts\.0\.bias", task="pose"),  # YOLO26: keypoints apart from sigmas
    Task("-pose", "pose", r"model\.\d+\.cv4\.0\.2\.bias", range(2, 1 << 31), task="pose"),  # v8/11: K * D values
    Task("-obb", "oriented-box", r"model\.\d+\.cv4\.0\.2\.bias", range(1, 2), task="obb"),  # one angle per anchor
    Task("-cls", "classification", r"model\.\d+\.linear\.bias", task="classify"),  # Classify
)


def checkpoint_task(state: StateDict) -> Optional[Task]:
    """The task whose head `state` holds (`TASKS`, else `DETECTION`), or None for other models."""
    return next((t for t in TASKS if t.matches(state)), DETECTION if DETECTION.matches(state) else None)


def other_task_model(state: StateDict, name: str) -> Tuple[Optional[str], str]:
    """(the registered model of the checkpoint's task in `name`'s family, that task's name) when the checkpoint
    is of another task than `name`; (None, '') when it fits or no such model is registered."""
    found, s = checkpoint_task(state), SPECS[name]
    if found is None or found.task == s.task.name or name not in s.scales:
        return None, ""
    other = next((n for n, o in SPECS.items() if o.lineage == s.lineage and o.task.name == found.task
                  and o.scales.get(n) == s.scales[name]), None)
    return (other, found.name) if other is not None else (None, "")
