"""`trtnn precision MODEL --dtype fp16|bf16|int8|fp8 --calib-data DIR|FILE`: per-module accuracy against fp32 on the
CPU executor, and (--target-sqnr) the keep_fp32 list that meets a target."""
from __future__ import annotations

import argparse
import json
import math
from typing import Any, List

from ... import quant

from ...errors import ConfigError
from ...io.files import atomic_write_bytes, check_output_path
from ...debug.evaluate import Goal
from ...debug.report import STRATEGIES, precision_report
from ..args import add_model_args, check_model_args, check_range, load_model
from ..options.quant import (QUANT_DTYPES, add_quant_args, calibrate, check_calib_data, check_quant_args,
                             is_image_folder, opt_input, precision_of, refuse_calib_flags)
from . import SUMMARIES

DTYPES = ("fp16", "bf16", "int8", "fp8")


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("precision", parents=parents, help=SUMMARIES["precision"],
                       description="Run the model in fp32 and in --dtype on the CPU executor over --images inputs of "
                                   "--calib-data and print the modules that lose most (SQNR, max relative error, "
                                   "fp16 overflow/underflow). With --target-sqnr, find modules to keep in fp32 "
                                   "(--strategy bisect|greedy) until the output SQNR meets it and print the "
                                   "--keep-fp32 flags for `trtnn build`. Exit "
                                   "code 1 when a --target-sqnr is not met.")
    add_model_args(p)
    add_quant_args(p, policy=False)  # the precision report searches what to keep itself
    g = p.add_argument_group("report")
    g.add_argument("--images", type=int, default=4, help="inputs (images or .npy samples) compared (default 4)")
    g.add_argument("--top", type=int, default=10, help="rows printed: the N modules with the lowest SQNR (default 10)")
    g.add_argument("--all", action="store_true", help="print every module in execution order instead of --top")
    g.add_argument("--target-sqnr", type=float, metavar="DB",
                   help="automatic mode: find modules to keep in fp32 until the output SQNR >= DB")
    g.add_argument("--max-rounds", type=int, default=16,
                   help="automatic mode: at most N probes after the first (default 16)")
    g.add_argument("--strategy", choices=STRATEGIES,
                   help="automatic mode: 'bisect' (default) binary-searches the shortest range of leaf modules in "
                        "execution order to keep in fp32 (as Polygraphy's debug precision); 'greedy' keeps the "
                        "module that loses most, one per round")
    g.add_argument("--direction", choices=("forward", "reverse"),
                   help="--strategy bisect: search from the network's inputs (forward, default) or outputs")
    g.add_argument("--json", metavar="OUT.json", help="also write the report as JSON")
    p.set_defaults(func=run)


def check_args(args: argparse.Namespace) -> Any:
    """Every argument checked before a model is loaded; returns the registered spec (or None)."""
    if args.dtype not in DTYPES:
        raise ConfigError(f"--dtype {args.dtype or '(none)'}: trtnn precision compares {', '.join(DTYPES)} with "
                          "fp32; give --dtype fp16|bf16|int8|fp8")
    spec = check_model_args(args)
    check_range("--images", args.images, 1)
    check_range("--top", args.top, 1)
    check_range("--max-rounds", args.max_rounds, 1)
    if args.target_sqnr is not None and not math.isfinite(args.target_sqnr):
        raise ConfigError(f"--target-sqnr {args.target_sqnr}: must be a finite number of dB")
    for flag, value in (("--strategy", args.strategy), ("--direction", args.direction)):
        if value is not None and args.target_sqnr is None:
            raise ConfigError(f"{flag} {value}: only in the automatic mode; give --target-sqnr DB")
    if args.direction is not None and args.strategy == "greedy":
        raise ConfigError(f"--direction {args.direction}: only with --strategy bisect")
    if args.max_batch is not None:
        raise ConfigError("--max-batch: trtnn precision runs one batch size; give --batch")
    if args.debug_output:
        raise ConfigError("--debug-output: trtnn precision already compares every module's output")
    if args.dtype in QUANT_DTYPES:
        check_quant_args(args, quantized=True)
    else:
        refuse_calib_flags(args, allowed=("calib_data",))
        check_calib_data(args, "trtnn precision needs --calib-data DIR|FILE: the images or .npy/.npz inputs to "
                               "compare on")
    if args.json:
        check_output_path(args.json, what="--json", not_same_as=[args.weights] if args.weights else [])
    return spec


def report_data(args: argparse.Namespace, inputs: List[Any], spec: Any) -> Any:
    """--calib-data as the report's batches: the first --images images (the model's own preprocessing) or samples."""
    if not is_image_folder(args.calib_data):
        return args.calib_data
    if spec is None or len(inputs) != 1:
        raise ConfigError("--calib-data: an image folder needs a registered model's preprocessing; for "
                          "PACKAGE.MODULE:FACTORY targets give .npy/.npz files of network inputs")
    batch = inputs[0].shape[0]
    return quant.image_data(args.calib_data, args.target, tuple(inputs[0].shape[2:]), batch,
                            input_name=inputs[0].name, limit=max(args.images, batch))


def run(args: argparse.Namespace) -> int:
    spec = check_args(args)
    model, inputs = load_model(args, spec)
    amax = calibrate(args, model, inputs, spec) if args.dtype in QUANT_DTYPES else None
    if is_image_folder(args.calib_data):  # letterboxed to one size: a dynamic input's opt shape
        inputs = [opt_input(i) for i in inputs]
    batch = max(inputs[0].shape[0], 1)  # a dynamic batch: the .npy/.npz batches as they come
    report = precision_report(model, inputs, report_data(args, inputs, spec), precision_of(args, amax),
                              goal=Goal(args.target_sqnr, max_rounds=args.max_rounds),
                              batches=max(1, args.images // batch), strategy=args.strategy or "bisect",
                              direction=args.direction or "forward")
    print(report.format(None if args.all else args.top))
    if args.target_sqnr is not None:
        flags = " ".join(f"--keep-fp32 {p}" for p in report.keep_fp32)
        print(f"keep in fp32 ({len(report.rounds)} round(s)): {flags or '(nothing)'}")
    if args.json:
        doc = {"model": args.target, "weights": args.weights, "inputs": [list(i.shape) for i in inputs],
               **report.to_dict()}
        atomic_write_bytes(args.json, (json.dumps(doc, indent=1) + "\n").encode())
    return 1 if report.met is False else 0
