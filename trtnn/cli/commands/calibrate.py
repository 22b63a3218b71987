"""`trtnn calibrate`: compute (or check) a model's INT8/FP8 calibration cache on the CPU, without building."""
from __future__ import annotations

import argparse
import time
from typing import Any, List

from ..args import add_model_args, check_model_args, load_model
from ..options.quant import add_quant_args, calibrate, check_quant_args
from ...quant.sensitivity import policy_path


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("calibrate", parents=parents, help="write an INT8/FP8 calibration cache (CPU only)",
                       description="Run calibration data through the fp32 network on the CPU executor and write "
                                   "the per-tensor ranges to --calib-cache and the INT8 policy (layers kept in fp16, "
                                   "methods per tensor; --int8-budget) beside it, both reused by `trtnn build "
                                   "--dtype int8`.")
    add_model_args(p)
    add_quant_args(p, required=True)
    p.set_defaults(func=run, dtype="int8")


def run(args: argparse.Namespace) -> int:
    spec = check_model_args(args)
    check_quant_args(args, quantized=True)
    model, inputs = load_model(args, spec)
    t0 = time.perf_counter()
    cal = calibrate(args, model, inputs, spec)
    verb = "reused" if cal.reused else "wrote"
    print(f"{verb} {args.calib_cache}: {len(cal.amax)} tensors, method {args.calib_method}"
          + (f" ({cal.method})" if args.calib_method == "auto" else "") + f", {time.perf_counter() - t0:.1f}s"
          + (f"; policy {policy_path(args.calib_cache)}" if cal.policy is not None else ""))
    return 0
