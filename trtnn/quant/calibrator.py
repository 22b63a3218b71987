"""`calibrate`: run calibration batches through the CPU executor of the fp32 network and turn per-tensor statistics
into amax values (with an optional JSON cache)."""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from numbers import Real
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

import torch

from tqdm import tqdm

from ..compile import define
from ..errors import ConfigError, InputError, UnsupportedError
from ..graph.module import Module
from ..io.files import atomic_write_bytes, check_output_path
from ..models.registry import quant_defaults
from ..models.vision.host import letterbox, yolo_preprocess
from ..reference import Executor, control
from ..reference.common import read_node
from ..version import __version__
from .cache import Calibration, cache_exists, network_hash, read_cache, select, weights_hash, write_cache
from .data import ImageData, as_batches, describe, named_feed
from .methods import DEFAULT_METHODS, FIRST_CANDIDATE, METHODS, compute_amax
from .parts import HeadLayout
from .sensitivity import DEFAULT_BUDGET, POLICY_VERSION, SENSITIVITY_IMAGES, Policy, choose_policy, policy_path
from .stats import DEFAULT_SAMPLES, TensorStats

_FLOATING = ("FLOAT", "HALF", "BF16")
log = logging.getLogger("trtnn.quant")


def activation_tensors(network: Any) -> List[str]:
    """Every floating tensor of a TensorRT network that depends on its inputs: the floating network inputs and the
    floating outputs of every layer except constants, layers that read only constants (weights, reshaped weights)
    or runtime shapes (a dynamic network's anchor grids: their values do not depend on the data) and layers inside
    loops or conditionals (never quantized, so they need no range; an end-to-end wrapper's NMS)."""
    names = [network.get_input(k).name for k in range(network.num_inputs)
             if network.get_input(k).dtype.name in _FLOATING]
    constant: set = set()
    nodes = [read_node(network.get_layer(k), k) for k in range(network.num_layers)]
    inside = {m.index for r in control.group(nodes) if isinstance(r, control.Region) for m in r.members}
    layers = []
    for k in range(network.num_layers):
        if k in inside:
            continue
        layer = network.get_layer(k)
        ins = [layer.get_input(j) for j in range(layer.num_inputs)]
        layers.append((layer.type.name, [t.name for t in ins if t is not None],
                       [layer.get_output(j) for j in range(layer.num_outputs)]))
    grown = True
    while grown:  # to a fixed point: a layer's inputs may be set after it was added (a fill's start and step)
        before = len(constant)
        for kind, ins, outs in layers:
            if kind in ("CONSTANT", "SHAPE") or (ins and all(n in constant for n in ins)):
                constant.update(o.name for o in outs)
        grown = len(constant) > before
    for kind, ins, outs in layers:
        if outs and outs[0].name not in constant:
            names += [o.name for o in outs if o.dtype.name in _FLOATING]
    return names


@dataclass
class Collected:
    """Statistics per tensor, the number of batches run, the wall seconds of the whole pass and of the statistics
    in it, and the first batches (`keep_images` images) for the sensitivity step."""

    stats: Dict[str, TensorStats]
    batches: int
    seconds: float
    stats_seconds: float
    feeds: List[Dict[str, Any]] = field(default_factory=list)


def collect(net: Any, data: Any, tensors: Sequence[str], num_bins: int = 2048, batches: Optional[int] = None,
            progress: Optional[bool] = None, samples: Optional[int] = DEFAULT_SAMPLES, keep_images: int = 0
            ) -> Collected:
    """Run each batch of `data` (see `calibrate`) through the CPU executor of `net` (a trtnn Network, fp32) and
    gather the statistics of `tensors` in one pass (see trtnn.quant.stats for the histogram and `samples`)."""
    ex = Executor(net)
    shapes = {name: shape for name, shape, _ in ex.input_specs}
    source = as_batches(data, shapes)
    stats = {t: TensorStats(t, num_bins, samples) for t in tensors}
    total = batches if batches is not None else (len(source) if hasattr(source, "__len__") else None)
    show = sys.stderr.isatty() if progress is None else progress
    count, t_stats, seen, kept, kept_images = 0, 0.0, set(), [], 0
    t_start = time.perf_counter()

    def observe(name: str, value: torch.Tensor) -> None:
        nonlocal t_stats
        if name not in stats:
            return
        t0 = time.perf_counter()
        seen.add(name)
        if value.is_floating_point():
            stats[name].update(value, count)
        t_stats += time.perf_counter() - t0

    with tqdm(total=total, desc="calibrating", unit="batch", disable=not show) as bar:
        for feed in source:
            if batches is not None and count >= batches:
                break
            feed = named_feed(feed, list(shapes), f"calibration batch {count}")
            if kept_images < keep_images:
                kept.append(feed)
                kept_images += len(next(iter(feed.values())))
            try:
                ex(feed, observe=observe)
            except InputError as e:  # a batch outside the profile: say which
                raise InputError(f"calibration batch {count}: {e.message}") from None
            if count == 0 and len(seen) < len(stats):
                hidden = [t for t in stats if t not in seen]
                raise UnsupportedError(f"tensors {hidden[:5]} are computed inside a loop or conditional, which the "
                                       f"CPU executor does not expose: they cannot be calibrated")
            count += 1
            bar.update(1)
    if count == 0:
        raise ConfigError("calibration data gave no batch")
    return Collected(stats, count, time.perf_counter() - t_start, t_stats, kept)


def _method_args(method: str, percentile: float, num_bins: int, batches: Optional[int], samples: Optional[int]
                 ) -> Dict[str, Any]:
    args: Dict[str, Any] = {"num_bins": num_bins, "batches": batches, "samples": samples}
    if method == "percentile":
        args["percentile"] = percentile
    return args


def is_end2end(model: Any) -> bool:
    """Is `model` an end-to-end wrapper (trtnn.models' End2End, TopKEnd2End, ...: a raw `model` inside, `inputs()`)?"""
    return callable(getattr(model, "inputs", None)) and isinstance(getattr(model, "model", None), Module) \
        and callable(getattr(model.model, "forward", None)) and hasattr(model.model, "state_dict")


def _engine_images(data: Any, inputs: Sequence[Any], model: Any) -> Any:
    """Image batches for an end-to-end wrapper whose engine takes uint8 images and preprocesses them itself: the
    family's geometry only (YOLO letterbox), in the wrapper's layout and channel order."""
    pre = getattr(model, "preprocess", None)
    if not isinstance(data, ImageData) or pre is None or not inputs or inputs[0].dtype != torch.uint8:
        return data
    if data.preprocess is not yolo_preprocess:
        raise ConfigError("calibration images for an end-to-end engine with in-engine preprocessing: only YOLO's "
                          "letterbox is supported here; give batches of the engine's uint8 input instead")
    nhwc = pre.layout == "NHWC"
    hw = tuple(inputs[0].shape[1:3] if nhwc else inputs[0].shape[2:4])

    def as_engine_input(image: np.ndarray, _: Any) -> np.ndarray:
        boxed, _ = letterbox(image, hw, scaleup=True)
        boxed = boxed if pre.bgr else boxed[:, :, ::-1]
        return np.ascontiguousarray(boxed if nhwc else boxed.transpose(2, 0, 1))

    return ImageData(data.files, as_engine_input, hw, data.batch, inputs[0].name,
                     {**data.description, "preprocess": f"{data.description.get('preprocess')} in the engine "
                      f"({pre.layout}, {'BGR' if pre.bgr else 'RGB'} uint8)"})


def calibrate(model: Any, inputs: Sequence[Any], data: Any, method: str = "auto", *, percentile: float = 99.99,
              num_bins: int = 2048, batches: Optional[int] = None, tensors: Optional[Sequence[str]] = None,
              progress: Optional[bool] = None, cache: Optional[str] = None, recalibrate: bool = False,
              samples: Optional[int] = DEFAULT_SAMPLES, dtype: str = "int8",
              budget: Optional[float] = DEFAULT_BUDGET, exclude: Optional[Sequence[str]] = None,
              sensitivity_images: int = SENSITIVITY_IMAGES) -> Calibration:
    """Calibrate `model` (defined in fp32 for `inputs`, trtnn.Input) on `data` and return the amax of every floating
    activation tensor (or of `tensors`) and, by default, the INT8/FP8 policy measured on it. Dynamic inputs (-1 dims
    with profiles) are calibrated at the shapes the data has: each batch must fit a profile (an InputError names the
    batch, input, dim, value and range otherwise); a .npy/.npz array is one batch along a dynamic batch dim.

    method: 'auto' (default: DEFAULT_METHODS[dtype], the best fixed method on the real checkpoints, mse for INT8 and
    minmax for FP8, with another method per tensor where the sensitivity step measures that it helps; that method
    alone when budget is None), or one
    method for every tensor: 'minmax',
    'percentile' (`percentile` of |x|), 'entropy' (KL divergence, as TensorRT's IInt8EntropyCalibrator2), 'mse'.
    budget: the least SQNR (dB) of every task output (boxes, relative to their size; scores, mask coefficients,
    keypoints; other models: each output) vs fp32 on the first `sensitivity_images` calibration images; the most
    sensitive layers are kept in the base dtype until it is met (trtnn.quant.sensitivity). None: no sensitivity step. The result's `policy`
    says what was kept and why; `trtnn.build(..., calibration=result)` applies it. dtype: 'int8' or 'fp8' (the
    build the policy is for). exclude: module paths / types never quantized; None: the model's defaults (its
    registry spec's `quant_exclude`, e.g. YOLO's DFL convolution).
    model may be an end-to-end wrapper (trtnn.models' End2End, TopKEnd2End, SegmentEnd2End...): tensors inside its
    loops and conditionals (NMS) need no range; image data (`image_data`) is fed as the engine takes it (uint8,
    letterboxed; the preprocessing inside the engine does the rest); the sensitivity step measures the raw model's
    outputs inside it.

    data: an iterable of input dicts {name: array} (or bare arrays for a single input), a .npy/.npz path or folder
    of them, or `trtnn.quant.image_data(folder, family, imgsz, batch)`. batches: use at most this many batches.
    cache: a JSON file; reused when trtnn version, method and its arguments, network, weights and data description
    all match (ConfigError saying what changed otherwise; CheckpointError for a corrupt file); written after
    calibrating, with the policy beside it (`<cache>.policy.json`, reused when budget, dtype and exclusions match).
    recalibrate=True ignores an existing cache and overwrites both. samples: histogram at most about this many
    values per tensor and batch (None: all; the abs-max always sees all; see trtnn.quant.stats).
    """
    if dtype not in DEFAULT_METHODS:
        raise ConfigError(f"calibrate: dtype must be 'int8' or 'fp8', got {dtype!r}")
    per_tensor = method == "auto" and budget is not None
    method = DEFAULT_METHODS[dtype] if method == "auto" else method
    if method not in METHODS:
        raise ConfigError(f"unknown calibration method {method!r}; expected 'auto' or one of {', '.join(METHODS)}")
    if num_bins < FIRST_CANDIDATE or num_bins % 2:
        raise ConfigError(f"num_bins must be an even number >= {FIRST_CANDIDATE}, got {num_bins}")
    if batches is not None and batches < 1:
        raise ConfigError(f"batches must be >= 1 (or None for all), got {batches}")
    if samples is not None and samples < 1:
        raise ConfigError(f"samples must be >= 1 (or None for every value), got {samples}")
    if isinstance(percentile, bool) or not isinstance(percentile, Real) or not 0 < percentile <= 100:
        raise ConfigError(f"percentile must be a number in (0, 100], got {percentile!r}")
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float))
                               or not 0 < budget < 200):
        raise ConfigError(f"budget must be a number of dB in (0, 200) or None, got {budget!r}")
    if exclude is not None and (isinstance(exclude, str) or not all(isinstance(e, str) for e in exclude)):
        raise ConfigError(f"exclude must be a list of module paths or types, got {exclude!r}")
    if cache:
        check_output_path(cache, what="calibration cache")
    wrapped = is_end2end(model)
    data = _engine_images(data, inputs, model) if wrapped else data
    source = as_batches(data, {i.name: tuple(i.shape) for i in inputs})
    net = define(model, inputs, dtype="fp32")
    names = activation_tensors(net.network) if tensors is None else list(tensors)
    known = set(_all_tensor_names(net.network))
    unknown = [t for t in names if t not in known]
    if unknown:
        raise ConfigError(f"tensors {unknown[:5]} are not in the network (its tensors include "
                          f"{sorted(known)[:8]} ...)")
    defaults = quant_defaults(model) if exclude is None else []
    user = list(exclude or [])
    expected = Calibration({}, method, 0, _method_args(method, percentile, num_bins, batches, samples),
                           network_hash(net.network), weights_hash(model.state_dict()), describe(source), __version__)
    key = {"dtype": dtype, "budget": budget, "per_tensor": per_tensor, "exclude": defaults + user,
           "images": sensitivity_images, "network_hash": expected.network_hash, "weights_hash": expected.weights_hash,
           "data": expected.preprocess, "policy_version": POLICY_VERSION}
    want_policy = budget is not None
    if cache_exists(cache) and not recalibrate:
        cached = read_cache(cache)
        expected.preprocess = describe(source, cached.num_batches)  # in-memory data: the hash of those batches
        changed = cached.mismatch(expected)
        if changed:
            raise ConfigError(f"calibration cache '{cache}' does not match: {changed}; delete it or recalibrate "
                              f"(recalibrate=True, --recalibrate)")
        key["data"] = expected.preprocess
        cal = select(cached, None if tensors is None else names, cache, known)
        policy = _read_policy(cache, key) if want_policy else None
        if policy is not None or not want_policy:
            cal.policy, cal.defaults = policy, defaults
            cal.amax = policy.apply(cal.amax) if policy is not None else cal.amax
            cal.reused = True
            return cal
        feeds = _first_feeds(source, sensitivity_images, batches)
        stats = None
    else:
        run = collect(net, source, names, num_bins=num_bins, batches=batches, progress=progress, samples=samples,
                      keep_images=sensitivity_images if want_policy else 0)
        expected.amax = {t: compute_amax(s, method, percentile) for t, s in run.stats.items()}
        expected.num_batches = run.batches
        expected.preprocess = describe(source, run.batches)
        key["data"] = expected.preprocess
        expected.stats = run.stats
        if cache:
            write_cache(cache, expected)
        cal, feeds, stats = expected, run.feeds, run.stats
    cal.defaults = defaults
    if want_policy:
        targets = net.module_outputs.get("model") if wrapped else None
        inner = model.model if wrapped else model
        policy = choose_policy(model, inputs, feeds, cal.amax, stats, dtype=dtype, method=method,
                               per_tensor=per_tensor, budget=budget, defaults=defaults, exclude=user, targets=targets,
                               head=head_layout(inner), percentile=percentile)
        policy.key = key
        log.info("%s", policy.summary())
        if cache:
            atomic_write_bytes(policy_path(cache), policy.to_json().encode())
        cal.policy = policy
        cal.amax = policy.apply(cal.amax)
    return cal


def _first_feeds(source: Any, images: int, batches: Optional[int]) -> List[Dict[str, Any]]:
    feeds, n = [], 0
    for feed in source:
        if n >= images or (batches is not None and len(feeds) >= batches):
            break
        feeds.append(feed if isinstance(feed, dict) else {"input": feed})
        n += len(next(iter(feeds[-1].values())))
    return feeds


def _read_policy(cache: str, key: Dict[str, Any]) -> Optional[Policy]:
    """The policy saved beside `cache` when it was made for `key` (budget, dtype, exclusions, network, data)."""
    path = policy_path(cache)
    if not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        policy = Policy.from_json(f.read().decode("utf-8", "replace"), f"INT8 policy '{path}'")
    if json.dumps(policy.key, sort_keys=True, default=str) != json.dumps(key, sort_keys=True, default=str):
        return None
    return policy


def head_layout(model: Any) -> Optional[HeadLayout]:
    """How `model`'s YOLO head output reads (class count, box format, extra rows), for splitting it into task parts;
    None without such a head."""
    head = next((m for m in model.modules() if isinstance(getattr(m, "nc", None), int)
                 and hasattr(m, "box_format")), None)
    if head is None:
        return None
    return HeadLayout(head.nc, head.EXTRA, head.box_format, getattr(head, "kpt_shape", (0, 0))[1])


def _all_tensor_names(network: Any) -> List[str]:
    names = [network.get_input(k).name for k in range(network.num_inputs)]
    for k in range(network.num_layers):
        layer = network.get_layer(k)
        names += [layer.get_output(j).name for j in range(layer.num_outputs)]
    return names
