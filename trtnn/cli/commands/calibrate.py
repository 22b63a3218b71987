"""`trtnn calibrate`: compute (or check) a model's INT8/FP8 calibration cache on the CPU, without building."""
from __future__ import annotations

import argparse
import time
from typing import Any, List

from ...errors import ConfigError
from ..args import add_model_args, check_model_args, load_model, refuse_unused
from ..options.quant import QUANT_DTYPES, add_quant_args, calibrate, check_quant_args


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("calibrate", parents=parents, help="write an INT8/FP8 calibration cache (CPU only)",
                       description="Run calibration data through the fp32 network on the CPU executor and write "
                                   "the per-tensor ranges to --calib-cache (reused by `trtnn build --dtype int8`).")
    add_model_args(p)
    add_quant_args(p, required=True)
    p.set_defaults(func=run, dtype="int8")


# model and quantization flags that only `trtnn build` uses (calibration runs the fp32 network, --calib-batch at a
# time, and writes only the ranges)
BUILD_ONLY = {"batch": "--batch", "max_batch": "--max-batch", "debug_output": "--debug-output",
              "no_fold_bn": "--no-fold-bn", "exclude": "--exclude", "keep_fp32": "--keep-fp32",
              "keep_fp16": "--keep-fp16", "base_dtype": "--base-dtype"}


def run(args: argparse.Namespace) -> int:
    if args.dtype not in QUANT_DTYPES:
        raise ConfigError(f"--dtype {args.dtype}: trtnn calibrate computes ranges for --dtype int8 (default) or fp8")
    refuse_unused(args, "calibrate", BUILD_ONLY, "give them to trtnn build, which reads the cache")
    spec = check_model_args(args)
    check_quant_args(args, quantized=True)
    model, inputs = load_model(args, spec)
    t0 = time.perf_counter()
    amax = calibrate(args, model, inputs, spec)
    print(f"wrote {args.calib_cache}: {len(amax)} tensors, method {args.calib_method}, "
          f"{time.perf_counter() - t0:.1f}s")
    return 0
