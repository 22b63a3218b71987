"""The `trtnn` command: build engines from any trtnn model, inspect definitions, convert weights, compare with torch."""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
from typing import Any, Callable, List, Optional, Sequence, Tuple

from . import backend, dtypes
from .build import Input
from .errors import TrtnnError

EXAMPLES = """examples:
  trtnn build examples.resnet:resnet18 --input x:1x3x224x224 --dtype fp16 -o resnet18.plan
  trtnn build yolov8n --weights yolov8n.pt --imgsz 640 --dtype fp16 --end2end --conf 0.25 --iou 0.7 --max-det 300 -o yolov8n.plan
  trtnn build unet --random-weights --imgsz 572x572 -o unet.plan
  trtnn build centernet_dla34 --weights ctdet_coco_dla_2x.pth --dtype fp16 --end2end --preprocess --orig-size -o ctdet.plan
  trtnn inspect yolov8n --random-weights --imgsz 320
  trtnn convert yolov8n.pt yolov8n.safetensors
  trtnn compare mynet:make_trt mynet:make_torch --input x:1x3x224x224 --weights model.pth
  trtnn bench yolov8n.plan        (needs a supported GPU)
  trtnn info
"""


def parse_input(spec: str) -> Input:
    """`name:1x3x224x224[:dtype]` -> Input."""
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise TrtnnError(f"--input {spec!r}: expected NAME:SHAPE[:DTYPE], e.g. x:1x3x224x224:fp16")
    try:
        shape = tuple(int(d) for d in parts[1].lower().split("x"))
    except ValueError:
        raise TrtnnError(f"--input {spec!r}: shape must be integers joined by 'x', e.g. 1x3x224x224") from None
    return Input(parts[0], shape, dtypes.to_torch(parts[2]) if len(parts) == 3 else "fp32")


def parse_imgsz(text: str) -> Tuple[int, int]:
    parts = [int(v) for v in text.lower().replace(",", "x").split("x")]
    if len(parts) not in (1, 2):
        raise TrtnnError(f"--imgsz {text!r}: expected N or HxW")
    return (parts[0], parts[0]) if len(parts) == 1 else (parts[0], parts[1])


def _factory(target: str) -> Tuple[Callable[..., Any], Optional[str]]:
    """A registered model name, or `package.module:factory` (imported with the working directory on sys.path)."""
    from . import models

    if ":" not in target:
        if target not in models.MODELS:
            raise TrtnnError(f"unknown model {target!r}: give PACKAGE.MODULE:FACTORY or one of {', '.join(models.MODELS)}")
        return models.MODELS[target], target
    mod_name, _, attr = target.partition(":")
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(mod_name)
    except ImportError as e:
        raise TrtnnError(f"cannot import {mod_name!r} for {target!r}: {e}") from None
    if not hasattr(module, attr):
        raise TrtnnError(f"module {mod_name!r} has no attribute {attr!r}")
    return getattr(module, attr), None


def load_model(args: argparse.Namespace) -> Tuple[Any, List[Input]]:
    """Instantiate the target, load --weights, and work out the inputs."""
    from .checkpoint import load_checkpoint
    from .models.infer import config_from_state_dict

    factory, registered = _factory(args.target)
    state = load_checkpoint(args.weights) if args.weights else None
    kwargs = {}
    if registered:
        if state is None and not args.random_weights:
            raise TrtnnError(f"{registered}: give --weights FILE (a checkpoint) or --random-weights to try it out")
        kwargs = config_from_state_dict(registered, state) if state is not None else {}
        if args.nc is not None and registered.startswith("centernet"):
            kwargs["heads"] = dict(kwargs.get("heads") or {"hm": 0, "wh": 2, "reg": 2})
            kwargs["heads"]["hm"] = args.nc  # in hm's place: the first output
        elif args.nc is not None:
            kwargs["n_classes" if registered.startswith("unet") else "nc"] = args.nc
        if getattr(args, "mask", False):
            if not registered.startswith("unet"):
                raise TrtnnError(f"--mask is for unet models, not {registered!r}")
            kwargs["output"] = "mask"
    model = factory(**kwargs)
    if state is not None:
        model.load_state_dict(state, strict=True, assign=True)  # the checkpoint's tensors become the weights
    if args.input:
        inputs = [parse_input(s) for s in args.input]
    elif registered:
        from .models.detect import batched_input

        default = {"unet": "572", "centernet": "512"}.get(registered.split("_")[0], "640")
        h, w = parse_imgsz(args.imgsz or default)
        name = "images" if registered.startswith("yolo") else "input"
        inputs = [batched_input(name, (getattr(model, "n_channels", 3), h, w), "fp32", args.batch, args.max_batch)]
    else:
        raise TrtnnError(f"{args.target}: give the network inputs with --input NAME:SHAPE[:DTYPE]")
    return model, inputs


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("target", help="a registered model (yolov8n, yolo11s, yolov5m, unet, centernet_dla34, ...) or "
                                  "PACKAGE.MODULE:FACTORY")
    p.add_argument("--input", action="append", metavar="NAME:SHAPE[:DTYPE]", help="a network input (repeatable)")
    p.add_argument("--imgsz", help="registered models: input size N or HxW (default 640; unet 572; centernet 512)")
    p.add_argument("--batch", type=int, default=1, help="registered models: batch size (default 1)")
    p.add_argument("--max-batch", type=int, help="registered models: dynamic batch 1..MAX instead of --batch")
    p.add_argument("--weights", help="checkpoint: .pt/.pth (also ultralytics, loaded safely), .safetensors, .npz, .wts")
    p.add_argument("--random-weights", action="store_true", help="registered models: build without a checkpoint")
    p.add_argument("--nc", type=int, help="number of classes (default: read from --weights, else the model's)")
    p.add_argument("--dtype", default=None, choices=("fp32", "fp16", "bf16"), help="compute dtype (default fp32)")
    p.add_argument("--no-fold-bn", action="store_true", help="keep BatchNorm as scale layers")
    p.add_argument("--debug-output", action="append", default=[], metavar="MODULE.PATH",
                   help="also output this module's tensor (repeatable)")


def cmd_build(args: argparse.Namespace) -> int:
    from .build import build_network, define

    model, inputs = load_model(args)
    output_dtype = args.output_dtype
    if args.end2end:
        model, inputs = _end2end(args, model, inputs)
        output_dtype = output_dtype or "fp32"  # EfficientNMS layout: float32 boxes and scores
    net = define(model, inputs, dtype=args.dtype, fold_bn=not args.no_fold_bn, debug_outputs=args.debug_output,
                 output_dtype=output_dtype)
    del model  # the network keeps what the builder needs; weights that BN folding replaced are freed
    engine = build_network(net, workspace=args.workspace << 20 if args.workspace else None)
    engine.save(args.output)
    print(f"wrote {args.output}: {engine.nbytes / 1e6:.2f} MB, {net.network.num_layers} layers, "
          f"definition {engine.define_seconds:.2f}s, builder {engine.build_seconds:.2f}s ({engine.backend})")
    for kind, infos in (("input", engine.inputs), ("output", engine.outputs)):
        for info in infos:
            print(f"  {kind:6} {info}")
    return 0


def _end2end(args: argparse.Namespace, model: Any, inputs: List[Input]) -> Tuple[Any, List[Input]]:
    """Wrap a YOLO model with in-engine preprocessing, decode and class-aware NMS; a CenterNet with preprocessing,
    ctdet decode and the conf threshold."""
    from .models.ctdet import CtdetEnd2End, ctdet_preprocess
    from .models.detect import End2End, Preprocess

    layout, order = args.preprocess.split("-") if args.preprocess else (None, None)
    registered = "" if ":" in args.target else args.target
    if registered.startswith("centernet"):
        if args.iou is not None or args.pre_nms_topk is not None:
            raise TrtnnError("--iou and --pre-nms-topk are for YOLO models: CenterNet keeps 3x3 heatmap peaks, no NMS")
        e2e = CtdetEnd2End(model, K=args.max_det or 100, conf=0.3 if args.conf is None else args.conf,
                           preprocess=ctdet_preprocess(layout.upper(), order == "bgr") if layout else None,
                           runtime_thresholds=args.runtime_thresholds, scale_to_orig=args.orig_size)
    elif registered.startswith("yolo"):
        e2e = End2End(model, "v5" if registered.startswith("yolov5") else "v8",
                      conf=0.25 if args.conf is None else args.conf, iou=args.iou, max_det=args.max_det,
                      preprocess=Preprocess(layout.upper(), bgr=order == "bgr") if layout else None,
                      runtime_thresholds=args.runtime_thresholds, scale_to_orig=args.orig_size,
                      pre_nms_topk=1000 if args.pre_nms_topk is None else args.pre_nms_topk)
    else:
        raise TrtnnError(f"--end2end is for the registered YOLO and CenterNet models (yolov8n, yolo11s, yolov5m, "
                         f"centernet_dla34, ...), not {args.target!r}")
    _, _, h, w = inputs[0].shape
    return e2e, e2e.inputs((h, w), args.batch, args.max_batch)


def cmd_inspect(args: argparse.Namespace) -> int:
    from .build import define

    model, inputs = load_model(args)
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
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from .checkpoint import convert

    n = convert(args.src, args.dst)
    print(f"wrote {args.dst}: {n} tensors")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    import numpy
    import torch

    info = backend.info()
    info.update(trtnn=importlib.import_module("trtnn").__version__, torch=torch.__version__, numpy=numpy.__version__,
                python=sys.version.split()[0])
    if args.json:
        print(json.dumps(info, indent=1))
        return 0
    print(f"trtnn {info['trtnn']}  python {info['python']}  torch {info['torch']}  numpy {info['numpy']}")
    if info["backend"]:
        print(f"backend: {info['backend']} {info['tensorrt_version']} (TRTNN_BACKEND to choose)")
    else:
        print(f"backend: none — {info['error']}")
    print(f"engines can {'' if info['can_run_engines'] else 'NOT '}run here: {info['runtime']}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import torch

    from .runtime import Runner

    runner = Runner(args.engine)
    inputs = {i.name: (torch.rand(i.shape) * 255).to(i.dtype) for i in runner.inputs}
    stats = runner.benchmark(inputs, iterations=args.iterations)
    print(f"{args.engine}: " + ", ".join(f"{k} {v:.3f}" for k, v in stats.items()))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="trtnn", description=__doc__, epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="show TensorRT's log")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("build", help="build a TensorRT engine from a trtnn model")
    _add_model_args(p)
    p.add_argument("-o", "--output", required=True, help="engine file to write (atomically)")
    p.add_argument("--output-dtype", choices=("fp32", "fp16", "bf16"), help="dtype of floating outputs")
    p.add_argument("--workspace", type=int, metavar="MB", help="builder workspace limit")
    e2e = p.add_argument_group("end-to-end detection (yolo and centernet models)")
    e2e.add_argument("--end2end", action="store_true",
                     help="decode + class-aware NMS (yolo) or heatmap peaks + top-K (centernet) inside the engine")
    e2e.add_argument("--conf", type=float, default=None, help="confidence threshold (default 0.25; centernet 0.3)")
    e2e.add_argument("--iou", type=float, default=None, help="yolo: NMS IoU threshold (default 0.7; yolov5 0.45)")
    e2e.add_argument("--max-det", type=int, default=None,
                     help="detections kept per image (default 300; yolov5 1000; centernet K=100)")
    e2e.add_argument("--runtime-thresholds", action="store_true", help="conf/iou as engine inputs instead of constants")
    e2e.add_argument("--preprocess", nargs="?", const="nhwc-bgr", choices=("nhwc-bgr", "nhwc-rgb", "nchw-bgr", "nchw-rgb"),
                     help="take uint8 images (default layout nhwc-bgr, as OpenCV gives them) and normalize them in the "
                          "engine (yolo: RGB /255; centernet: BGR, COCO mean/std)")
    e2e.add_argument("--orig-size", action="store_true",
                     help="add an orig_size [B,2] (h,w) input and map boxes back to the letterboxed (centernet: "
                          "affine-warped) originals")
    e2e.add_argument("--pre-nms-topk", type=int, default=None, help="yolo: candidates entering NMS (<= 3840, default 1000)")
    p.add_argument("--mask", action="store_true", help="unet: also output the mask (argmax, or sigmoid > 0.5)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("inspect", help="list the layers of a model's TensorRT network (no GPU needed)")
    _add_model_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("convert", help="convert weights between .pt/.pth, .safetensors, .npz and tensorrtx .wts")
    p.add_argument("src")
    p.add_argument("dst")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("bench", help="time an engine on this machine's GPU (random inputs)")
    p.add_argument("engine")
    p.add_argument("--iterations", type=int, default=100)
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("info", help="backend, versions, and whether engines can run on this machine")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_info)

    try:
        from .debug import add_compare_parser
    except ImportError:  # pragma: no cover - debug tools not importable
        pass
    else:
        add_compare_parser(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    try:
        return args.func(args)
    except TrtnnError as e:
        print(f"trtnn {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
