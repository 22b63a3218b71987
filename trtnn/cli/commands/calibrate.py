"""`trtnn calibrate`: compute (or check) a model's INT8/FP8 calibration cache on the CPU, without building."""
from __future__ import annotations

import argparse
import time
from typing import Any, List

from ...errors import ConfigError
from ..args import add_model_args, check_model_args, load_model
from ..options.quant import add_quant_args, calibrate, check_quant_args
from ...quant.sensitivity import policy_path
from . import SUMMARIES

# flags `trtnn calibrate` shares with build/inspect but does not use: refused rather than ignored
_UNUSED = (("dtype", "--dtype", "the ranges are computed on the fp32 network, the same for int8 and fp8: give --dtype "
                                "to `trtnn build`"),
           ("exclude", "--exclude", "a build option: calibration computes the range of every tensor"),
           ("keep_fp32", "--keep-fp32", "a build option"), ("keep_fp16", "--keep-fp16", "a build option"),
           ("debug_output", "--debug-output", "calibration observes every tensor already"),
           ("batch", "--batch", "calibration batches are --calib-batch"),
           ("max_batch", "--max-batch", "calibration batches are --calib-batch"),
           ("no_fold_bn", "--no-fold-bn", "a build option"))


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("calibrate", parents=parents, help=SUMMARIES["calibrate"],
                       description="Run calibration data through the fp32 network on the CPU executor and write "
                                   "the per-tensor ranges to --calib-cache and the INT8 policy (layers kept in fp16, "
                                   "methods per tensor; --int8-budget) beside it, both reused by `trtnn build "
                                   "--dtype int8`.")
    add_model_args(p)
    add_quant_args(p, required=True)
    p.set_defaults(func=run)


def check_unused(args: argparse.Namespace) -> None:
    """Refuse the flags calibrate would ignore, naming them and why."""
    given = [(flag, why) for dest, flag, why in _UNUSED if getattr(args, dest, None) not in (None, False, [])]
    if args.base_dtype is not None:
        given.append(("--base-dtype", "a build option"))
    if given:
        raise ConfigError("trtnn calibrate does not use " + "; ".join(f"{flag} ({why})" for flag, why in given))


def run(args: argparse.Namespace) -> int:
    check_unused(args)
    args.dtype = "int8"
    spec = check_model_args(args)
    check_quant_args(args, quantized=True)
    model, inputs = load_model(args, spec)
    t0 = time.perf_counter()
    cal = calibrate(args, model, inputs, spec)
    method = args.calib_method + (f" ({cal.method})" if args.calib_method == "auto" else "")
    policy = f"; policy {policy_path(args.calib_cache)}" if cal.policy is not None else ""
    if cal.reused:  # calibrate refuses a cache that does not match: this one matched
        print(f"reused {args.calib_cache}: {len(cal.amax)} tensors, method {method} (network, weights, data and "
              f"method match; --recalibrate to compute it again){policy}")
    else:
        print(f"wrote {args.calib_cache}: {len(cal.amax)} tensors, method {method}, {time.perf_counter() - t0:.1f}s"
              f"{policy}")
    return 0
