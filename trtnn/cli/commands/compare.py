"""`trtnn compare TRT_TARGET TORCH_TARGET --input x:1x3x64x64`: module-by-module comparison with a torch model."""
from __future__ import annotations

import argparse
import json
import os
from typing import Any, Dict, List, Sequence

import numpy as np
import torch

from ... import dtypes
from ...debug.compare import compare
from ...errors import ConfigError, InputError, TrtnnError
from ...io.checkpoint import load_checkpoint
from ...io.files import atomic_write_bytes, check_output_path
from ..args import check_callable_with, check_readable, is_torch_module, load_target, make_trtnn_model, parse_input
from . import SUMMARIES


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    p = sub.add_parser("compare", parents=parents, help=SUMMARIES["compare"],
                       description="Run a trtnn model on the CPU executor and a torch model, and compare the "
                                   "outputs module by module. Exit code 0 on PASS, 1 on FAIL.")
    p.add_argument("trt_target", metavar="TRT_TARGET", help="pkg.module:factory returning a trtnn Module")
    p.add_argument("torch_target", metavar="TORCH_TARGET", help="pkg.module:factory returning a torch nn.Module")
    p.add_argument("--input", action="append", metavar="NAME:SHAPE[:DTYPE]", help="e.g. x:1x3x64x64 (repeatable)")
    p.add_argument("--input-file", action="append", metavar="[NAME=]FILE.npy", help="input values instead of random")
    p.add_argument("--weights", metavar="FILE", help="checkpoint loaded (strict) into both models (default: the torch "
                                                     "model's state_dict is copied into the trtnn model)")
    p.add_argument("--own-weights", action="store_true", help="keep each model's own weights (no copy)")
    p.add_argument("--trusted", action="store_true", help="allow torch.load of pickles the safe reader cannot read")
    p.add_argument("--dtype", default="fp32", choices=["fp32", "fp16", "bf16"], help="trtnn compute dtype")
    p.add_argument("--rtol", type=float, help="relative tolerance >= 0 (default fp32 1e-4, fp16/bf16 1e-2)")
    p.add_argument("--atol", type=float, help="absolute tolerance >= 0 (default fp32 1e-6, fp16/bf16 1e-3)")
    p.add_argument("--no-fold-bn", action="store_true", help="keep BatchNorms as their own layers")
    p.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    p.add_argument("--json", metavar="OUT.json", help="also write the report as JSON")
    p.set_defaults(func=run)
    return p


def make_inputs(specs: Sequence[str], files: Sequence[str], seed: int) -> Dict[str, Any]:
    """Random tensors for `--input NAME:SHAPE[:DTYPE]`, values from `--input-file [NAME=]FILE.npy`."""
    parsed = [parse_input(s) for s in specs]
    dynamic = [i.name for i in parsed if i.is_dynamic]
    if dynamic:
        raise ConfigError(f"--input {dynamic[0]!r}: compare runs one shape; give every dim (no -1)")
    given: Dict[str, torch.Tensor] = {}
    for i, f in enumerate(files):  # NAME=FILE, else FILE for the i-th --input (or named after the file)
        name, eq, path = f.partition("=")
        if not eq:
            path = f
            name = parsed[i].name if i < len(parsed) else os.path.splitext(os.path.basename(f))[0]
        check_readable(path, "--input-file")
        try:
            array = np.load(path)
        except (ValueError, OSError) as e:
            raise InputError(f"--input-file '{path}': not a .npy array ({e})") from None
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            raise InputError(f"--input-file '{path}': not a .npy array of numbers (got {type(array).__name__})")
        given[name] = torch.from_numpy(np.ascontiguousarray(array))
    gen = torch.Generator().manual_seed(seed)
    out: Dict[str, torch.Tensor] = {}
    for inp in parsed:
        shape, dt = tuple(inp.shape), dtypes.to_torch(inp.dtype)
        if inp.name in given:
            if tuple(given[inp.name].shape) != shape:
                raise InputError(f"input '{inp.name}': file has shape {tuple(given[inp.name].shape)}, "
                                 f"--input says {shape}")
            out[inp.name] = given.pop(inp.name)
        elif dt.is_floating_point:
            out[inp.name] = torch.randn(shape, generator=gen).to(dt)
        else:
            out[inp.name] = torch.randint(0, 2, shape, generator=gen).to(dt)
    out.update(given)
    if not out:
        raise ConfigError("give the inputs with --input NAME:SHAPE and/or --input-file FILE.npy")
    return out


def run(args: argparse.Namespace) -> int:
    """0 when every module matches, 1 otherwise."""
    for flag in ("rtol", "atol"):
        value = getattr(args, flag)
        if value is not None and not value >= 0:
            raise ConfigError(f"--{flag} {value:g}: must be >= 0")
    if args.weights and args.own_weights:
        raise ConfigError("--weights and --own-weights: give one")
    if args.trusted and not args.weights:
        raise ConfigError("--trusted is for --weights: no checkpoint to read")
    check_readable(args.weights, "--weights")
    if args.json:
        check_output_path(args.json, what="--json", not_same_as=[args.weights] if args.weights else [])
    inputs = make_inputs(args.input or [], args.input_file or [], args.seed)
    trt_model = make_trtnn_model(load_target(args.trt_target), args.trt_target)
    torch_factory = load_target(args.torch_target)
    check_callable_with(torch_factory, args.torch_target, {})
    torch_model = torch_factory()
    if not is_torch_module(torch_model):
        raise ConfigError(f"TORCH_TARGET {args.torch_target!r} returned a {type(torch_model).__name__}; "
                          "expected a torch.nn.Module")
    if args.weights:
        state = load_checkpoint(args.weights, trusted=args.trusted)
        trt_model.load_state_dict(state, strict=True)
        torch_model.load_state_dict(state, strict=True)
    elif not args.own_weights:  # like with like: the torch model's weights in both
        try:
            trt_model.load_state_dict(torch_model.state_dict(), strict=True)
        except TrtnnError as e:
            raise ConfigError(f"cannot copy {args.torch_target}'s state_dict into {args.trt_target} ({e.message}); "
                              "with different weights every row would differ: give --weights FILE for both, or "
                              "--own-weights to compare them anyway") from None
    report = compare(trt_model, torch_model, inputs, dtype=args.dtype, rtol=args.rtol, atol=args.atol,
                     fold_bn=not args.no_fold_bn, print_report=True)
    if args.json:
        data = {"trt_target": args.trt_target, "torch_target": args.torch_target,
                "inputs": {k: list(v.shape) for k, v in inputs.items()}, **report.to_dict()}
        atomic_write_bytes(args.json, (json.dumps(data, indent=2) + "\n").encode())
    return 0 if report.passed else 1
