"""`trtnn inspect`: list the layers of a model's TensorRT network (no GPU needed)."""
from __future__ import annotations

import argparse
import json
from typing import Any, List

from ... import dtypes
from ...compile import define
from ...quant import activation_tensors
from ..args import add_model_args, check_model_args, describe_ranges, load_model
from . import SUMMARIES


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("inspect", parents=parents, help=SUMMARIES["inspect"])
    add_model_args(p)
    p.add_argument("--json", action="store_true", help="print the layers as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    model, inputs = load_model(args, check_model_args(args))
    calibration = None
    if args.dtype in ("int8", "fp8"):  # where Q/DQ goes does not depend on the ranges: 1.0 for every tensor

        fp32 = define(model, inputs, dtype="fp32", fold_bn=not args.no_fold_bn)
        calibration = {t: 1.0 for t in activation_tensors(fp32.network)}
    net = define(model, inputs, dtype=args.dtype, fold_bn=not args.no_fold_bn, debug_outputs=args.debug_output,
                 calibration=calibration)
    rows = []
    for i in range(net.network.num_layers):
        layer = net.network.get_layer(i)
        out = layer.get_output(0)
        rows.append((layer.name, str(layer.type).split(".")[-1], "x".join(map(str, out.shape)), dtypes.short(out.dtype)))
    if args.json:
        print(json.dumps([dict(zip(("name", "type", "shape", "dtype"), r)) for r in rows], indent=1))
        return 0
    widths = [max(len(r[k]) for r in rows + [("layer", "type", "shape", "dtype")]) for k in range(4)]
    for r in [("layer", "type", "shape", "dtype")] + rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    print(f"{len(rows)} layers; outputs: " + ", ".join(map(repr, net.outputs)))
    if calibration is not None:
        quantized = [r[0][: -len(":quantize")] for r in rows if r[1] == "QUANTIZE"]
        print(f"{args.dtype}: {len(quantized)} Q/DQ pairs (activations) on: {', '.join(quantized)}; "
              f"{sum(r[1] == 'DEQUANTIZE' for r in rows) - len(quantized)} quantized weights; layers computing on "
              f"quantized inputs: {len(net.quantized)}")
    for line in describe_ranges(inputs):
        print(f"dynamic input {line}")
    return 0
