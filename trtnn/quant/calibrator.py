"""`calibrate`: run calibration batches through the CPU executor of the fp32 network and turn per-tensor statistics
into amax values (with an optional JSON cache)."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from numbers import Real
from typing import Any, Dict, List, Optional, Sequence

import torch

from tqdm import tqdm

from ..compile import define
from ..errors import ConfigError, UnsupportedError
from ..io.files import check_output_path
from ..reference import Executor
from ..version import __version__
from .cache import Calibration, cache_exists, network_hash, read_cache, select, weights_hash, write_cache
from .data import as_batches, describe, named_feed
from .methods import FIRST_CANDIDATE, METHODS, compute_amax
from .stats import DEFAULT_SAMPLES, TensorStats

_FLOATING = ("FLOAT", "HALF", "BF16")


def activation_tensors(network: Any) -> List[str]:
    """Every floating tensor of a TensorRT network that depends on its inputs: the floating network inputs and the
    floating outputs of every layer except constants and layers that read only constants (weights, reshaped
    weights)."""
    names = [network.get_input(k).name for k in range(network.num_inputs)
             if network.get_input(k).dtype.name in _FLOATING]
    constant: set = set()
    for k in range(network.num_layers):
        layer = network.get_layer(k)
        ins = [layer.get_input(j) for j in range(layer.num_inputs)]
        ins = [t.name for t in ins if t is not None]
        outs = [layer.get_output(j) for j in range(layer.num_outputs)]
        if layer.type.name == "CONSTANT" or (ins and all(n in constant for n in ins)):
            constant.update(o.name for o in outs)
        else:
            names += [o.name for o in outs if o.dtype.name in _FLOATING]
    return names


@dataclass
class Collected:
    """Statistics per tensor, the number of batches run, and the wall seconds of the whole pass and of the statistics
    in it."""

    stats: Dict[str, TensorStats]
    batches: int
    seconds: float
    stats_seconds: float


def collect(net: Any, data: Any, tensors: Sequence[str], num_bins: int = 2048, batches: Optional[int] = None,
            progress: Optional[bool] = None, samples: Optional[int] = DEFAULT_SAMPLES) -> Collected:
    """Run each batch of `data` (see `calibrate`) through the CPU executor of `net` (a trtnn Network, fp32) and
    gather the statistics of `tensors` in one pass (see trtnn.quant.stats for the histogram and `samples`)."""
    ex = Executor(net)
    shapes = {name: shape for name, shape, _ in ex.input_specs}
    source = as_batches(data, shapes)
    stats = {t: TensorStats(t, num_bins, samples) for t in tensors}
    total = batches if batches is not None else (len(source) if hasattr(source, "__len__") else None)
    show = sys.stderr.isatty() if progress is None else progress
    count, t_stats, seen = 0, 0.0, set()
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
            ex(feed, observe=observe)
            if count == 0 and len(seen) < len(stats):
                hidden = [t for t in stats if t not in seen]
                raise UnsupportedError(f"tensors {hidden[:5]} are computed inside a loop or conditional, which the "
                                       f"CPU executor does not expose: they cannot be calibrated")
            count += 1
            bar.update(1)
    if count == 0:
        raise ConfigError("calibration data gave no batch")
    return Collected(stats, count, time.perf_counter() - t_start, t_stats)


def _method_args(method: str, percentile: float, num_bins: int, batches: Optional[int], samples: Optional[int]
                 ) -> Dict[str, Any]:
    args: Dict[str, Any] = {"num_bins": num_bins, "batches": batches, "samples": samples}
    if method == "percentile":
        args["percentile"] = percentile
    return args


def calibrate(model: Any, inputs: Sequence[Any], data: Any, method: str = "entropy", *, percentile: float = 99.99,
              num_bins: int = 2048, batches: Optional[int] = None, tensors: Optional[Sequence[str]] = None,
              progress: Optional[bool] = None, cache: Optional[str] = None, recalibrate: bool = False,
              samples: Optional[int] = DEFAULT_SAMPLES) -> Calibration:
    """Calibrate `model` (defined in fp32 for `inputs`, trtnn.Input with static shapes) on `data` and return the
    amax of every floating activation tensor (or of `tensors`), by `method`: 'minmax', 'percentile' (`percentile`
    of |x|), 'entropy' (KL divergence, as TensorRT's IInt8EntropyCalibrator2) or 'mse'.

    data: an iterable of input dicts {name: array} (or bare arrays for a single input), a .npy/.npz path or folder
    of them, or `trtnn.quant.image_data(folder, family, imgsz, batch)`. batches: use at most this many batches.
    cache: a JSON file; reused when trtnn version, method and its arguments, network, weights and data description
    all match (ConfigError saying what changed otherwise; CheckpointError for a corrupt file); written after
    calibrating. recalibrate=True ignores an existing cache and overwrites it. samples: histogram at most about this
    many values per tensor and batch (None: all; the abs-max always sees all; see trtnn.quant.stats).
    """
    if method not in METHODS:
        raise ConfigError(f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}")
    if num_bins < FIRST_CANDIDATE or num_bins % 2:
        raise ConfigError(f"num_bins must be an even number >= {FIRST_CANDIDATE}, got {num_bins}")
    if batches is not None and batches < 1:
        raise ConfigError(f"batches must be >= 1 (or None for all), got {batches}")
    if samples is not None and samples < 1:
        raise ConfigError(f"samples must be >= 1 (or None for every value), got {samples}")
    if isinstance(percentile, bool) or not isinstance(percentile, Real) or not 0 < percentile <= 100:
        raise ConfigError(f"percentile must be a number in (0, 100], got {percentile!r}")
    if cache:
        check_output_path(cache, what="calibration cache")
    source = as_batches(data, {i.name: tuple(i.shape) for i in inputs})
    net = define(model, inputs, dtype="fp32")
    names = activation_tensors(net.network) if tensors is None else list(tensors)
    known = set(_all_tensor_names(net.network))
    unknown = [t for t in names if t not in known]
    if unknown:
        raise ConfigError(f"tensors {unknown[:5]} are not in the network (its tensors include "
                          f"{sorted(known)[:8]} ...)")
    expected = Calibration({}, method, 0, _method_args(method, percentile, num_bins, batches, samples),
                           network_hash(net.network), weights_hash(model.state_dict()), describe(source), __version__)
    if cache_exists(cache) and not recalibrate:
        cached = read_cache(cache)
        expected.preprocess = describe(source, cached.num_batches)  # in-memory data: the hash of those batches
        changed = cached.mismatch(expected)
        if changed:
            raise ConfigError(f"calibration cache '{cache}' does not match: {changed}; delete it or recalibrate "
                              f"(recalibrate=True, --recalibrate)")
        return select(cached, None if tensors is None else names, cache, known)
    run = collect(net, source, names, num_bins=num_bins, batches=batches, progress=progress, samples=samples)
    expected.amax = {t: compute_amax(s, method, percentile) for t, s in run.stats.items()}
    expected.num_batches = run.batches
    expected.preprocess = describe(source, run.batches)
    expected.stats = run.stats
    if cache:
        write_cache(cache, expected)
    return expected


def _all_tensor_names(network: Any) -> List[str]:
    names = [network.get_input(k).name for k in range(network.num_inputs)]
    for k in range(network.num_layers):
        layer = network.get_layer(k)
        names += [layer.get_output(j).name for j in range(layer.num_outputs)]
    return names
