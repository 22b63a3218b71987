"""`trtnn inspect`: list the layers of a model's TensorRT network (no GPU needed)."""
from __future__ import annotations

import argparse
import json
from typing import Any, List

from ... import dtypes
from ...errors import ConfigError
from ..args import add_model_args, check_model_args, describe_ranges, load_model


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("inspect", parents=parents, help="list the layers of a model's TensorRT network (no GPU needed)")
    add_model_args(p)
    p.add_argument("--json", action="store_true", help="print the layers as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ...compile import define

    if args.dtype in ("int8", "fp8"):
        raise ConfigError(f"--dtype {args.dtype}: trtnn inspect lists the network without calibration (fp32, fp16 or "
                          f"bf16); the quantized network is made by trtnn build --dtype {args.dtype} --calib-data DIR|FILE")
    model, inputs = load_model(args, check_model_args(args))
    net = define(model, inputs, dtype=args.dtype, fold_bn=not args.no_fold_bn, debug_outputs=args.debug_output)
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
    for line in describe_ranges(inputs):
        print(f"dynamic input {line}")
    return 0
