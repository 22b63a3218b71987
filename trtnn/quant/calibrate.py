"""`calibrate`: run calibration batches through the CPU executor of the fp32 network and turn per-tensor statistics
into amax values (with an optional JSON cache)."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import torch

from ..errors import ConfigError
from .cache import Calibration, cache_exists, network_hash, read_cache, select, weights_hash, write_cache
from .data import as_batches, describe
from .methods import FIRST_CANDIDATE, METHODS, compute_amax
from .stats import TensorStats

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
    """Statistics per tensor, the number of batches run, and the seconds spent in executor forwards and in
    statistics."""

    stats: Dict[str, TensorStats]
    batches: int
    forward_seconds: float
    stats_seconds: float


def collect(net: Any, data: Any, tensors: Sequence[str], num_bins: int = 2048, batches: Optional[int] = None,
            progress: Optional[bool] = None) -> Collected:
    """Run each batch of `data` (see `calibrate`) through the CPU executor of `net` (a trtnn Network, fp32) and
    gather the statistics of `tensors`, in one pass."""
    from tqdm import tqdm

    from ..reference import Executor

    ex = Executor(net)
    shapes = {name: shape for name, shape, _ in ex.input_specs}
    source = as_batches(data, shapes)
    stats = {t: TensorStats(t, num_bins) for t in tensors}
    total = batches if batches is not None else (len(source) if hasattr(source, "__len__") else None)
    show = sys.stderr.isatty() if progress is None else progress
    count, t_forward, t_stats = 0, 0.0, 0.0
    with tqdm(total=total, desc="calibrating", unit="batch", disable=not show) as bar:
        for feed in source:
            if batches is not None and count >= batches:
                break
            if not isinstance(feed, dict):
                if len(shapes) != 1:
                    raise ConfigError(f"calibration batch {count}: expected a dict {{input name: array}} for the "
                                      f"inputs {list(shapes)}, got {type(feed).__name__}")
                feed = {next(iter(shapes)): feed}
            t0 = time.perf_counter()
            values = ex(feed, keep_all=True)
            t1 = time.perf_counter()
            for name, s in stats.items():
                value = values.get(name)
                if value is None:
                    value = torch.as_tensor(feed[name])
                if value.is_floating_point():
                    s.update(value, count)
            t_forward += t1 - t0
            t_stats += time.perf_counter() - t1
            count += 1
            bar.update(1)
    if count == 0:
        raise ConfigError("calibration data gave no batch")
    return Collected(stats, count, t_forward, t_stats)


def _method_args(method: str, percentile: float, num_bins: int, batches: Optional[int]) -> Dict[str, Any]:
    args: Dict[str, Any] = {"num_bins": num_bins, "batches": batches}
    if method == "percentile":
        args["percentile"] = percentile
    return args


def calibrate(model: Any, inputs: Sequence[Any], data: Any, method: str = "entropy", *, percentile: float = 99.99,
              num_bins: int = 2048, batches: Optional[int] = None, tensors: Optional[Sequence[str]] = None,
              progress: Optional[bool] = None, cache: Optional[str] = None, recalibrate: bool = False) -> Calibration:
    """Calibrate `model` (defined in fp32 for `inputs`, trtnn.Input with static shapes) on `data` and return the
    amax of every floating activation tensor (or of `tensors`), by `method`: 'minmax', 'percentile' (`percentile`
    of |x|), 'entropy' (KL divergence, as TensorRT's IInt8EntropyCalibrator2) or 'mse'.

    data: an iterable of input dicts {name: array} (or bare arrays for a single input), a .npy/.npz path or folder
    of them, or `trtnn.quant.image_data(folder, family, imgsz, batch)`. batches: use at most this many batches.
    cache: a JSON file; reused when trtnn version, method and its arguments, network, weights and data description
    all match (ConfigError saying what changed otherwise; CheckpointError for a corrupt file); written after
    calibrating. recalibrate=True ignores an existing cache and overwrites it.
    """
    from .. import __version__
    from ..build import define
    from ..fileio import check_output_path

    if method not in METHODS:
        raise ConfigError(f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}")
    if num_bins < FIRST_CANDIDATE or num_bins % 2:
        raise ConfigError(f"num_bins must be an even number >= {FIRST_CANDIDATE}, got {num_bins}")
    if batches is not None and batches < 1:
        raise ConfigError(f"batches must be >= 1 (or None for all), got {batches}")
    if cache:
        check_output_path(cache, what="calibration cache")
    net = define(model, inputs, dtype="fp32")
    names = activation_tensors(net.network) if tensors is None else list(tensors)
    known = set(_all_tensor_names(net.network))
    unknown = [t for t in names if t not in known]
    if unknown:
        raise ConfigError(f"tensors {unknown[:5]} are not in the network (its tensors include "
                          f"{sorted(known)[:8]} ...)")
    expected = Calibration({}, method, 0, _method_args(method, percentile, num_bins, batches),
                           network_hash(net.network), weights_hash(model.state_dict()), describe(data), __version__)
    if cache_exists(cache) and not recalibrate:
        cached = read_cache(cache)
        changed = cached.mismatch(expected)
        if changed:
            raise ConfigError(f"calibration cache '{cache}' does not match: {changed}; delete it or recalibrate "
                              f"(recalibrate=True, --recalibrate)")
        return select(cached, None if tensors is None else names, cache)
    run = collect(net, data, names, num_bins=num_bins, batches=batches, progress=progress)
    expected.amax = {t: compute_amax(s, method, percentile) for t, s in run.stats.items()}
    expected.num_batches = run.batches
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
