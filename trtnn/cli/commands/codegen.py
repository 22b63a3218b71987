"""`trtnn codegen`: write editable trtnn code for a PyTorch model (see trtnn.codegen)."""
from __future__ import annotations

import argparse
import os
import sys
from typing import Any, List

from ...errors import ConfigError, StateDictError
from ...io.files import atomic_write_bytes, check_output_path
from ..args import check_callable_with, check_readable, load_target, parse_input
from . import SUMMARIES


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("codegen", parents=parents,
                       help=SUMMARIES["codegen"])
    p.add_argument("target", help="PACKAGE.MODULE:FACTORY returning a torch.nn.Module")
    p.add_argument("--input", action="append", default=[], metavar="NAME:SHAPE[:DTYPE]",
                   help="an example input, in forward()'s order (repeatable; static shapes)")
    p.add_argument("--weights", help="state_dict to load into the torch model first (.pt/.pth/.safetensors/.npz)")
    p.add_argument("--class-name", help="name of the generated top-level class (default: the model's class name)")
    p.add_argument("--verify", action="store_true",
                   help="then load the model's state_dict into the generated code, define it and compare its CPU "
                        "executor outputs with torch's")
    p.add_argument("-o", "--output", required=True, help="the .py file to write")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from ...io.checkpoint import load_checkpoint
    from ...codegen import generate_code, round_trip

    if not args.input:
        raise ConfigError(f"{args.target}: give the example inputs with --input NAME:SHAPE[:DTYPE]")
    specs = [parse_input(s) for s in args.input]
    dynamic = [s.name for s in specs if s.is_dynamic]
    if dynamic:
        raise ConfigError(f"--input {dynamic[0]!r}: codegen traces with concrete example inputs; give a static shape")
    if args.class_name is not None and not args.class_name.isidentifier():
        raise ConfigError(f"--class-name {args.class_name!r}: must be a Python identifier")
    if not args.output.endswith(".py"):
        raise ConfigError(f"-o {args.output!r}: the generated code must go to a .py file (to be importable)")
    check_readable(args.weights, "--weights")
    check_output_path(args.output, what="-o", not_same_as=[args.weights])
    factory = load_target(args.target)
    check_callable_with(factory, args.target, {})
    model = factory()
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"target {args.target!r} returned a {type(model).__name__}; expected a torch.nn.Module")
    if args.weights:
        try:
            model.load_state_dict(load_checkpoint(args.weights), strict=True)
        except RuntimeError as e:
            raise StateDictError(f"--weights '{args.weights}' does not fit {type(model).__name__}: {e}") from None
    inputs = [torch.randn(s.shape).to(s.dtype) if s.dtype.is_floating_point else torch.zeros(s.shape, dtype=s.dtype)
              for s in specs]
    code = generate_code(model, inputs, class_name=args.class_name)
    atomic_write_bytes(args.output, code.source.encode(), what="-o")
    print(f"wrote {args.output}: {len(code.classes)} classes ({', '.join(code.classes)}); "
          f"build it with `trtnn build {os.path.basename(args.output)[:-3]}:make_model --input ...` from its folder")
    for u in code.unmapped:
        print(f"not mapped: {u.op} at {u.where}", file=sys.stderr)
    if args.verify:
        result = round_trip(code.source, model, inputs, build=False)
        print(f"verified: state_dict loads strictly; CPU executor vs torch: max relative error {result.max_rel_err:.3g}")
    return 1 if code.unmapped else 0
