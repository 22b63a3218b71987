"""`trtnn run`: run an end-to-end engine (GPU) or a registered model's definition (--device cpu) on images, print the
results and draw them (--save DIR), ultralytics-style."""
from __future__ import annotations

import argparse
import json
import os
import tempfile
from typing import Any, List

from ...errors import BackendError, ConfigError
from ..args import check_readable, parse_imgsz, registered


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", parents=parents, help="run an end-to-end engine or model on images and draw the results")
    p.add_argument("source", help="engine file (trtnn plan + .json, or ultralytics .engine), or with --device cpu a "
                                  "registered model (yolov8n, yolo11n-seg, centernet_res18, ...)")
    p.add_argument("images", help="an image file or a folder of images")
    p.add_argument("--device", default="cuda:0", help="cuda:N (engines) or cpu (a model's definition on the CPU "
                                                      "executor; slow, for checking)")
    p.add_argument("--save", metavar="DIR", help="write the images with the results drawn on them here")
    p.add_argument("--json", action="store_true", help="print the results as JSON lines")
    cpu = p.add_argument_group("--device cpu (a registered model instead of an engine)")
    cpu.add_argument("--weights", help="checkpoint to load (default: random weights, for trying the pipeline)")
    cpu.add_argument("--imgsz", help="network input size HxW or N (default: the family's)")
    cpu.add_argument("--conf", type=float, help="confidence threshold in [0, 1] (default: the family's)")
    cpu.add_argument("--iou", type=float, help="NMS IoU threshold in [0, 1] (default: the family's)")
    cpu.add_argument("--max-det", type=int, help="detections kept per image (default: the family's)")
    p.set_defaults(func=run)


def _is_model(name: str) -> bool:
    try:
        return registered(name) is not None
    except ConfigError:
        return False


def _runner(args: argparse.Namespace) -> Any:
    from ... import backend
    from ...runtime import Runner

    if args.device != "cpu":
        model_flags = [f for f, v in (("--weights", args.weights), ("--imgsz", args.imgsz), ("--conf", args.conf),
                                      ("--iou", args.iou), ("--max-det", args.max_det)) if v is not None]
        if model_flags:
            raise ConfigError(f"{', '.join(model_flags)}: for --device cpu with a model name; an engine has them "
                              "built in")
        if not os.path.exists(args.source) and _is_model(args.source):
            raise ConfigError(f"{args.source!r} is a model name: build an engine (trtnn build {args.source} ... "
                              f"--end2end -o x.plan) or run its definition with --device cpu")
        check_readable(args.source, "SOURCE")
        ok, why = backend.runtime_status()
        if not ok:
            raise BackendError(f"cannot execute TensorRT engines here: {why}. To check the pipeline on the CPU, run "
                               f"the model's definition: trtnn run MODEL --weights W.pt {args.images} --device cpu")
        return Runner(args.source, device=args.device)
    return cpu_runner(args)


def cpu_runner(args: argparse.Namespace) -> Any:
    import types

    from ...compile import define
    from ...io.sidecar import describe_model, engine_metadata
    from ...runtime import Runner
    from ..commands import build

    spec = registered(args.source)
    if spec is None:
        raise ConfigError(f"--device cpu runs a registered model's definition; {args.source!r} is not one (an engine "
                          "file runs only on a GPU)")
    unused = os.path.join(tempfile.gettempdir(), "trtnn-run-definition.plan")  # build's checks want an output path
    argv = ["build", args.source, "-o", unused] + (["--weights", args.weights] if args.weights else ["--random-weights"])
    if args.imgsz:
        argv += ["--imgsz", args.imgsz]
    if spec.end2end is not None:
        argv += ["--end2end", "--preprocess"] + (["--orig-size"] if spec.task != "classify" else [])
        for flag, value in (("--conf", args.conf), ("--iou", args.iou), ("--max-det", args.max_det)):
            if value is not None:
                argv += [flag, str(value)]
    from .. import build_parser

    model, inputs, _ = build.prepare(build_parser().parse_args(argv))
    net = define(model, inputs, output_dtype="fp32" if spec.end2end is not None else None)
    from ...io.checkpoint import read_metadata

    names = read_metadata(args.weights).get("names") if args.weights else None
    imgsz = parse_imgsz(args.imgsz, spec.stride, args.source) if args.imgsz else spec.imgsz
    shell = types.SimpleNamespace(backend="cpu", inputs=net.inputs, outputs=net.outputs)
    meta = engine_metadata(shell, describe_model(model), names=names, task=spec.task, imgsz=imgsz,
                           stride=spec.stride, target=args.source)
    return Runner(net, device="cpu", metadata=meta)


def run(args: argparse.Namespace) -> int:
    from ...eval.yolo_data import image_files
    from ...runtime import draw
    from ...runtime.drawing import cv2_module

    files = [args.images] if os.path.isfile(args.images) else image_files(args.images) \
        if os.path.isdir(args.images) else None
    if not files:
        raise ConfigError(f"IMAGES {args.images!r}: not an image file or a folder with images")
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        if os.path.abspath(args.save) == os.path.abspath(os.path.dirname(files[0]) or "."):
            raise ConfigError("--save: choose another folder than the images' own (inputs are never overwritten)")
    runner = _runner(args)
    cv2 = cv2_module()
    for path in files:
        image = cv2.imread(path)
        if image is None:
            raise ConfigError(f"cannot read image '{path}'")
        (result,) = runner.predict([image])
        if args.json:
            print(json.dumps({"image": path, "results": result.summary()}))
        else:
            print(f"{path}: {result}")
        if args.save:
            out = os.path.join(args.save, os.path.basename(path))
            if not cv2.imwrite(out, draw(result.image, result)):
                raise ConfigError(f"--save: cannot write '{out}'")
    return 0
