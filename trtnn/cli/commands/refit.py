"""`trtnn refit`: put weights into a refittable or weight-stripped engine (built with --refit / --strip-weights) on the
GPU that runs it, and save the complete engine with its metadata. The weights are found by module path
(`<layer>.weight/.bias`): the model's network is defined again from the new checkpoint (BatchNorm folded the same way)
and its final convolution weights are handed to TensorRT's Refitter. The output keeps the input's file format
(plan + `<output>.json`, or ultralytics' header inside), its metadata updated (`refitted_metadata`)."""
from __future__ import annotations

import argparse
import copy
import os
import tempfile
from typing import Any, Dict, List

from ... import backend
from ...compile import define
from ...compile.lifecycle import refittable_weights
from ...errors import BackendError, ConfigError
from ...io.checkpoint import read_metadata
from ...io.engine_file import read_engine_file, write_engine_file
from ...io.files import check_output_path
from ...io.sidecar import sidecar_path
from ..args import check_readable
from . import build


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("refit", parents=parents, help="refit a refittable / weight-stripped engine with a checkpoint "
                                                      "(needs the GPU that runs it)")
    p.add_argument("plan", help="engine built with --refit or --strip-weights (its .json names the model)")
    p.add_argument("weights", help="checkpoint with the model's weights")
    p.add_argument("-o", "--output", required=True, help="the refitted engine to write (never over PLAN)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from .. import build_parser  # the package face registers this module: resolved at call time

    check_readable(args.plan, "PLAN")
    check_readable(args.weights, "WEIGHTS")
    check_output_path(args.output, what="-o/--output", not_same_as=[args.plan, args.weights])
    file = read_engine_file(args.plan)
    meta = file.metadata
    fmt = "ultralytics" if file.format == "ultralytics" else "trtnn"
    if fmt == "trtnn":
        check_output_path(sidecar_path(args.output), what="engine metadata (-o/--output + .json)",
                          not_same_as=[sidecar_path(args.plan), args.weights])
    if not (meta.get("build") or {}).get("refittable"):
        raise ConfigError(f"'{args.plan}' was not built refittable (its metadata says build.refittable is not true): "
                          "rebuild with --refit or --strip-weights")
    updated = refitted_metadata(meta, args.weights, refittable=True)  # a checkpoint with other classes refused now
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
    config = engine.create_serialization_config()  # a stripped engine serializes stripped unless told otherwise
    config.clear_flag(trt.SerializationFlag.EXCLUDE_WEIGHTS)
    still_refittable = hasattr(trt.SerializationFlag, "INCLUDE_REFIT")
    if still_refittable:
        config.set_flag(trt.SerializationFlag.INCLUDE_REFIT)
    plan = bytes(memoryview(engine.serialize_with_config(config)))
    updated["build"]["refittable"] = still_refittable
    where = write_engine_file(args.output, plan, updated, fmt)
    print(f"wrote {args.output}: {len(wanted)} weights refitted from {args.weights}; metadata {where}")
    return 0


def refitted_metadata(meta: Dict[str, Any], weights: str, refittable: bool) -> Dict[str, Any]:
    """The refitted engine's metadata: a copy of `meta` with the weights in the plan (build.weights_stripped false),
    build.refittable as serialized, source.weights the checkpoint's file name and, when the checkpoint has class
    names, those names (a model fine-tuned on other classes keeps its architecture, not its labels)."""
    out = copy.deepcopy(meta)
    out["build"] = dict(out.get("build") or {}, weights_stripped=False, refittable=refittable)
    out["source"] = dict(out.get("source") or {}, weights=os.path.basename(weights))
    names = read_metadata(weights).get("names")
    if names:
        if len(names) != len(out.get("names") or names):
            raise ConfigError(f"'{weights}' names {len(names)} classes, the engine has {len(out['names'])}: refit "
                              "replaces weights, not the number of classes (rebuild the engine)")
        out["names"] = {str(k): v for k, v in sorted(names.items())}
    return out
