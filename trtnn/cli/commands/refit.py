"""`trtnn refit`: put weights into a refittable or weight-stripped engine (built with --refit / --strip-weights) on the
GPU that runs it, and save the complete engine. The weights are found by module path (`<layer>.weight/.bias`): the
model's network is defined again from the new checkpoint (BatchNorm folded the same way) and its final convolution
weights are handed to TensorRT's Refitter."""
from __future__ import annotations

import argparse
import os
import tempfile
from typing import Any, List

from ...errors import BackendError, ConfigError
from ..args import check_readable


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("refit", parents=parents, help="refit a refittable / weight-stripped engine with a checkpoint "
                                                      "(needs the GPU that runs it)")
    p.add_argument("plan", help="engine built with --refit or --strip-weights (its .json names the model)")
    p.add_argument("weights", help="checkpoint with the model's weights")
    p.add_argument("-o", "--output", required=True, help="the refitted engine to write (never over PLAN)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ... import backend
    from ...compile import define
    from ...compile.lifecycle import refittable_weights
    from ...io.engine_file import read_engine_file
    from ...io.files import atomic_write_bytes, check_output_path
    from .. import build_parser
    from . import build

    check_readable(args.plan, "PLAN")
    check_readable(args.weights, "WEIGHTS")
    check_output_path(args.output, what="-o/--output", not_same_as=[args.plan, args.weights])
    file = read_engine_file(args.plan)
    meta = file.metadata
    if not (meta.get("build") or {}).get("refittable"):
        raise ConfigError(f"'{args.plan}' was not built refittable (its metadata says build.refittable is not true): "
                          "rebuild with --refit or --strip-weights")
    target, imgsz = meta.get("target"), meta.get("imgsz")
    if not target:
        raise ConfigError(f"'{args.plan}': its metadata names no model (target); refit needs it to define the network")
    ok, why = backend.runtime_status()
    if not ok:
        raise BackendError(f"cannot refit here: TensorRT's Refitter works on a deserialized engine, which needs a "
                           f"GPU ({why})")
    argv = ["build", target, "--weights", args.weights, "-o", os.path.join(tempfile.gettempdir(), "trtnn-refit.plan")]
    if imgsz:
        argv += ["--imgsz", f"{imgsz[0]}x{imgsz[1]}"]
    model, inputs, _ = build.prepare(build_parser().parse_args(argv))
    net = define(model, inputs, dtype=(meta.get("precision") or "fp32").split()[0])
    trt = backend.get()
    weights = refittable_weights(net.network, trt)
    runtime = trt.Runtime(backend.logger())
    engine = runtime.deserialize_cuda_engine(file.plan)
    if engine is None:
        raise BackendError(f"TensorRT could not deserialize '{args.plan}'")
    refitter = trt.Refitter(engine, backend.logger())
    wanted = set(refitter.get_all_weights())
    missing = sorted(wanted - set(weights))
    if missing:
        raise ConfigError(f"the engine expects weights the definition does not have: {missing[:8]}")
    for name in sorted(wanted):
        if not refitter.set_named_weights(name, weights[name]):
            raise BackendError(f"TensorRT refused the weights '{name}' (shape or dtype differ from the engine's)")
    if not refitter.refit_cuda_engine():
        raise BackendError(f"TensorRT could not refit the engine; still missing: {refitter.get_missing_weights()}")
    atomic_write_bytes(args.output, bytes(memoryview(engine.serialize())), what="refitted engine")
    print(f"wrote {args.output}: {len(wanted)} weights refitted from {args.weights}")
    return 0
