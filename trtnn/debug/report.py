"""Precision report: how much each module loses in fp16 / bf16 / INT8 / FP8 against fp32, on real inputs.

    report = trtnn.debug.precision_report(model, [trtnn.Input("x", (1, 3, 64, 64))], data, dtype="fp16")
    report.worst(5)                        # the modules with the lowest SQNR
    report.overflows                       # modules with values beyond the reduced dtype's range
    auto = trtnn.debug.precision_report(model, inputs, data, dtype="int8", target_sqnr=30)
    auto.keep_fp32                         # pass to trtnn.build(..., keep_fp32=auto.keep_fp32)

Both networks run on the CPU executor over the same batches; every module output (Network.module_outputs) of the
reduced network is compared with the fp32 one. The automatic searches: trtnn.debug.bisect (default)
and trtnn.debug.greedy (greedy).
"""
from __future__ import annotations

import math
from typing import Any, Dict, List, Optional, Sequence, Union

from ..compile import Input, Network, Precision, define
from ..errors import ConfigError, require_int
from ..quant import calibrate
from .bisect import bisect
from .evaluate import Comparison, Goal, as_feeds
from .greedy import search
from .results import PrecisionReport

DTYPES = ("fp16", "bf16", "int8", "fp8")
STRATEGIES = ("bisect", "greedy")  # of the automatic mode


def precision_report(model: Any, inputs: Sequence[Input], data: Any, precision: Union[Precision, str, None] = None,
                     *, goal: Optional[Goal] = None, strategy: str = "bisect", direction: str = "forward",
                     method: str = "entropy", calib_cache: Optional[str] = None, batches: Optional[int] = None,
                     print_report: bool = False, top: Optional[int] = None, **options: Any) -> PrecisionReport:
    """Run `model` in fp32 and in `precision` (a trtnn.Precision, or its dtype 'fp16' (default), 'bf16', 'int8' or
    'fp8' with the other fields as keywords: calibration, keep_fp32, keep_fp16, exclude, base_dtype, fold_bn) on the
    CPU executor over `data` and report, per module call, SQNR (dB, accumulated over all batches) and max relative
    error against fp32, fp16/bf16 overflow and underflow, and the SQNR of the module's inputs (what it inherits vs
    what it loses itself).

    inputs: trtnn.Input; a dynamic one (-1 dims, profiles) runs at the shapes of the data's batches, each inside a
    profile (an InputError names the input, dim, value and range otherwise). data: what trtnn.quant.calibrate
    accepts (trtnn.quant.image_data(...), a .npy/.npz path or folder, an iterable of input dicts); read once,
    `batches` at most.
    int8/fp8 without `calibration`: calibrated here on the same data with `method` (and `calib_cache`).
    Automatic mode (a trtnn.debug.Goal, or its fields as keywords: target_sqnr=dB and/or metric=callable with
    target=score, max_rounds): finds modules to keep in fp32 until the lowest network-output SQNR >= target_sqnr and
    metric(fp32 outputs, reduced outputs) >= target (each a list per batch of {output name: tensor}); the report's
    `keep_fp32` is the list found, `rounds` every probe.
    strategy 'bisect' (trtnn.debug.bisect): binary search for the shortest range of leaf modules in execution
    order, from the front (direction 'forward') or the back ('reverse'), at most `max_rounds` probes after the first;
    'greedy' (trtnn.debug.greedy): one module per round, the one that loses most, at most `max_rounds` rounds.
    """
    goal = _goal(goal, {k: options.pop(k) for k in GOAL_FIELDS if k in options})
    if precision is None and "dtype" not in options:
        precision = "fp16"
    precision = Precision.resolve(precision, options, "precision_report")
    if precision.dtype not in DTYPES:
        raise ConfigError(f"precision report: dtype must be one of {', '.join(DTYPES)}, got {precision.dtype!r}")
    if strategy not in STRATEGIES:
        raise ConfigError(f"precision report: strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if direction not in ("forward", "reverse"):
        raise ConfigError(f"precision report: direction must be 'forward' or 'reverse' (strategy 'bisect'), got "
                          f"{direction!r}")
    if batches is not None:
        require_int(batches, "batches", "precision report", minimum=1)
    if not precision.quantized and (precision.calibration is not None or calib_cache or precision.exclude):
        raise ConfigError(f"precision report: calibration=, calib_cache= and exclude= are for dtype 'int8' or 'fp8', "
                          f"got dtype={precision.dtype!r}")
    inputs = _inputs(inputs)
    feeds = as_feeds(data, inputs, batches)
    if precision.quantized and precision.calibration is None:
        precision = precision.replace(calibration=calibrate(model, inputs, feeds, method=method, cache=calib_cache))
    keep_fp32 = list(precision.keep_fp32)

    def reduced(keep: Sequence[str]) -> Network:
        return define(model, inputs, precision.replace(keep_fp32=keep))

    comparison = Comparison(model, inputs, feeds, precision.fold_bn)
    if not goal.given:
        report = comparison.run(reduced(keep_fp32), precision.label)[0]
        report.keep_fp32 = keep_fp32
    elif strategy == "greedy":
        report = search(comparison, reduced, precision.label, keep_fp32, goal)
    else:
        report = bisect(comparison, reduced, precision.label, keep_fp32, goal, direction)
    if print_report:
        print(report.format(top))
    return report


GOAL_FIELDS = ("target_sqnr", "metric", "target", "max_rounds")


def _goal(goal: Optional[Goal], fields: Dict[str, Any]) -> Goal:
    """`goal=` or its fields as keywords (not both), checked."""
    if goal is not None and fields:
        raise ConfigError(f"precision report: give either goal= or {', '.join(f'{k}=' for k in fields)}, not both")
    goal = goal if goal is not None else Goal(**fields)
    if not isinstance(goal, Goal):
        raise ConfigError(f"precision report: goal must be a trtnn.debug.Goal, got {type(goal).__name__}")
    if (goal.metric is None) != (goal.target is None):
        raise ConfigError("precision report: metric= and target= go together (the automatic mode keeps modules in "
                          f"fp32 until metric(fp32 outputs, reduced outputs) >= target); got metric={goal.metric!r}, "
                          f"target={goal.target!r}")
    if goal.metric is not None and not callable(goal.metric):
        raise ConfigError(f"precision report: metric must be a callable (fp32 outputs, reduced outputs) -> float, "
                          f"got {type(goal.metric).__name__}")
    for name, value in (("target_sqnr", goal.target_sqnr), ("target", goal.target)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise ConfigError(f"precision report: {name} must be a finite number, got {value!r}")
    require_int(goal.max_rounds, "max_rounds", "precision report", minimum=1)
    return goal


def _inputs(inputs: Sequence[Input]) -> List[Input]:
    if isinstance(inputs, Input) or not isinstance(inputs, (list, tuple)) or \
            not all(isinstance(i, Input) for i in inputs):
        raise ConfigError(f"precision report: inputs must be a list of trtnn.Input, got {inputs!r}")
    return list(inputs)
