"""`trtnn build`: define a model's network and build a TensorRT engine file."""
from __future__ import annotations

import argparse
import os
from typing import Any, Dict, List, Optional, Tuple

from ...compile import Input, build_network, define
from ...errors import ConfigError
from ...io.files import check_output_path
from ... import dtypes
from ...io.engine_file import check_ultralytics_io
from ...io.sidecar import sidecar_path
from ...models.registry import ModelSpec, describe_head, describe_model
from ...models.vision.nms import MAX_PRE_NMS
from ..args import (add_model_args, check_model_args, check_range, describe_ranges, dynamic_min_imgsz, head_choice,
                    image_hw, image_layout, image_ranges, load_model, parse_imgsz, registered, with_image_input)
from ..options.engine import add_engine_args, engine_options, save_engine
from ..options.metadata import add_metadata_args, check_metadata_args, cli_metadata, names_arg
from ...compile.quantize.ranges import for_end2end
from ...compile.quantize.selection import paths_for_end2end
from ...quant.sensitivity import WithPolicy
from ..options.quant import QUANT_DTYPES, add_quant_args, calibrate, check_quant_args, precision_of
from . import SUMMARIES

E2E_FLAGS = {"conf": "--conf", "iou": "--iou", "max_det": "--max-det", "pre_nms_topk": "--pre-nms-topk", "head": "--head",
             "mask_resolution": "--mask-resolution", "src_size": "--src-size"}
NMS_FLAGS = ("iou", "pre_nms_topk")  # meaningless for --head one2one (no NMS)
E2E_SWITCHES = {"runtime_thresholds": "--runtime-thresholds", "preprocess": "--preprocess", "orig_size": "--orig-size"}


def add_parser(sub: Any, parents: List[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("build", parents=parents, help=SUMMARIES["build"])
    add_model_args(p)
    p.add_argument("-o", "--output", required=True, help="engine file to write (atomically)")
    p.add_argument("--output-dtype", choices=("fp32", "fp16", "bf16"), help="dtype of floating outputs")
    p.add_argument("--workspace", type=int, metavar="MB", help="builder workspace limit in MB (> 0)")
    add_quant_args(p)
    add_metadata_args(p)
    add_engine_args(p)
    e2e = p.add_argument_group("end-to-end detection (yolo and centernet models; these flags need --end2end)")
    e2e.add_argument("--end2end", action="store_true",
                     help="decode + class-aware NMS (yolo) or heatmap peaks + top-K (centernet) inside the engine")
    e2e.add_argument("--conf", type=float, default=None, help="confidence threshold in [0, 1] (default 0.25; "
                                                              "centernet 0.3)")
    e2e.add_argument("--iou", type=float, default=None, help="yolo: NMS IoU threshold in [0, 1] (default 0.7; "
                                                             "yolov5 0.45)")
    e2e.add_argument("--max-det", type=int, default=None,
                     help="detections kept per image, <= --pre-nms-topk (default 300; yolov5 1000; centernet K=100)")
    e2e.add_argument("--runtime-thresholds", action="store_true", help="conf/iou as engine inputs instead of constants")
    e2e.add_argument("--preprocess", nargs="?", const="nhwc-bgr", choices=("nhwc-bgr", "nhwc-rgb", "nchw-bgr", "nchw-rgb"),
                     help="take uint8 images (default layout nhwc-bgr, as OpenCV gives them) and normalize them in the "
                          "engine (yolo: RGB /255; centernet: BGR, COCO mean/std)")
    e2e.add_argument("--orig-size", action="store_true",
                     help="add an orig_size [B,2] (h,w) input and map boxes back to the letterboxed (centernet: "
                          "affine-warped) originals")
    e2e.add_argument("--pre-nms-topk", type=int, default=None,
                     help=f"yolo: candidates entering NMS, in [1, {MAX_PRE_NMS}] (default 1000)")
    e2e.add_argument("--src-size", metavar="HxW", help="classify, with --preprocess: the uint8 images' size; the "
                     "engine resizes and centre-crops them to --imgsz as ultralytics' classify_transforms")
    e2e.add_argument("--head", choices=("one2one", "one2many"), default=None,
                     help="yolo26 / yolov10 only: one2one = the NMS-free branch and ultralytics' top-k (its end2end "
                          "output, no --iou/--pre-nms-topk); one2many = the other branch + NMS. Default: as the "
                          "checkpoint's head says (ultralytics' end2end flag), else one2one")
    e2e.add_argument("--mask-resolution", choices=("input", "proto"), default=None,
                     help="segmentation models: det_masks at the network input size (default) or at the prototypes' "
                          "1/4 resolution (16x less memory)")
    p.set_defaults(func=run)


def end2end_options(args: argparse.Namespace, spec: Optional[ModelSpec]) -> Optional[Dict[str, Any]]:
    """The end-to-end wrapper's options (the family's defaults filled in), or None without --end2end; every
    end-to-end flag checked against the family."""
    given = [flag for dest, flag in {**E2E_FLAGS, **E2E_SWITCHES}.items() if getattr(args, dest) not in (None, False)]
    if not args.end2end:
        if given:
            raise ConfigError(f"{', '.join(given)}: only with --end2end")
        return None
    if spec is None or spec.end2end is None:
        raise ConfigError((spec.end2end_note + "; " if spec is not None and spec.end2end_note else "")
                          + f"--end2end is for the registered YOLO detection and CenterNet models (yolov8n, yolo11s, "
                          f"yolov5m, centernet_dla34, ...), not {args.target!r}")
    if args.input:
        raise ConfigError("--end2end makes its inputs from --imgsz/--batch/--max-batch, not --input")
    if args.head is not None and "head" not in spec.end2end_defaults:
        raise ConfigError(f"--head: {args.target!r} has a single detection head; --head picks one of the two heads of "
                          "the YOLO26 / YOLOv10 models (yolo26n, yolov10s, ...)")
    if args.mask_resolution is not None and "mask_resolution" not in spec.end2end_defaults:
        raise ConfigError(f"--mask-resolution is for segmentation models (yolov8n-seg, yolo11s-seg, ...), not "
                          f"{args.target!r}")
    refused = [flag for dest, flag in E2E_FLAGS.items() if getattr(args, dest) is not None
               and dest not in spec.end2end_defaults]
    if refused:
        raise ConfigError(spec.end2end_note or f"{', '.join(refused)}: not for {args.target!r}")
    opts = {dest: getattr(args, dest) if getattr(args, dest) is not None else default
            for dest, default in spec.end2end_defaults.items()}
    head = head_choice(args, spec)  # --head, else the checkpoint's end2end flag, else the family's default
    if head is not None:
        opts["head"] = head[0]
    check_range("--conf", opts.get("conf"), 0, 1)
    check_range("--iou", opts.get("iou"), 0, 1)
    check_range("--max-det", opts.get("max_det"), 1)
    check_range("--pre-nms-topk", opts.get("pre_nms_topk"), 1, MAX_PRE_NMS)
    if opts.get("src_size"):
        if args.min or args.opt or args.max:
            raise ConfigError("--src-size and --min/--opt/--max: the engine resizes images of one fixed size; drop "
                              "--src-size to take images of the network's (dynamic) size")
        opts["src_size"] = parse_imgsz(opts["src_size"], flag="--src-size")
    if opts.get("head") == "one2one":
        nms = [E2E_FLAGS[dest] for dest in NMS_FLAGS if getattr(args, dest) is not None]
        if nms:
            raise ConfigError(f"{', '.join(nms)}: NMS settings, but {args.target} --head one2one ({head[1]}) keeps "
                              "the top --max-det detections without NMS; add --head one2many to use NMS")
        check_range("--max-det", opts["max_det"], 1, MAX_PRE_NMS)
    elif "pre_nms_topk" in opts and opts["max_det"] > opts["pre_nms_topk"]:
        raise ConfigError(f"--max-det {opts['max_det']} > --pre-nms-topk {opts['pre_nms_topk']}: NMS cannot keep more "
                          "detections than enter it; raise --pre-nms-topk or lower --max-det")
    layout, order = args.preprocess.split("-") if args.preprocess else (None, None)
    opts.update(layout=layout.upper() if layout else None, bgr=order == "bgr",
                runtime_thresholds=args.runtime_thresholds, scale_to_orig=args.orig_size)
    return opts


# extensions of the files a build reads or that other tools write: an engine given one of them is a slip of the hand
NOT_ENGINE = (".pt", ".pth", ".ckpt", ".bin", ".safetensors", ".npz", ".npy", ".wts", ".onnx", ".pkl", ".py", ".json",
              ".yaml", ".yml", ".txt", ".jpg", ".jpeg", ".png")


def check_engine_path(path: str) -> None:
    """ConfigError when -o names a checkpoint, source, data or image file instead of an engine."""
    ext = os.path.splitext(path)[1].lower()
    if ext in NOT_ENGINE:
        raise ConfigError(f"-o {path!r}: {ext} is not an engine file (checkpoints, sources and data keep their "
                          "extensions, and the engine's metadata goes to <engine>.json); name the engine .plan or "
                          ".engine, e.g. -o " + os.path.splitext(path)[0] + ".plan")


def prepare(args: argparse.Namespace) -> Tuple[Any, List[Input], Optional[WithPolicy]]:
    """Check every argument, then make the (possibly end-to-end) model, its inputs and (int8/fp8) its calibration."""
    spec = check_model_args(args)
    check_range("--workspace", args.workspace, 1)
    quantized = args.dtype in QUANT_DTYPES
    check_quant_args(args, quantized)
    check_metadata_args(args)
    engine_options(args)
    e2e = end2end_options(args, spec)
    head = head_choice(args, spec)
    if head is not None:
        print(describe_head(*head))  # which branch the engine runs, and why
    check_output_path(args.output, what="-o/--output", not_same_as=[args.weights] if args.weights else [])
    check_engine_path(args.output)
    check_output_path(sidecar_path(args.output), what="engine metadata (-o/--output + .json)")
    model, inputs = load_model(args, spec)
    names_arg(args, spec.num_classes(model) if spec is not None else None)  # a wrong --names file is refused before calibrating and building
    cal = calibrate(args, model, inputs, spec) if quantized else None
    amax = WithPolicy(dict(cal.amax), cal.policy) if cal is not None else None
    if e2e is not None:
        shaped = image_ranges(args, spec, spec.in_channels(model))  # --min/--opt/--max: the engine input's layout
        if shaped is not None:
            h, w = image_hw(shaped, image_layout(args, spec).nhwc)
        else:
            _, _, h, w = inputs[0].shape if not args.dynamic else inputs[0].profile()[2]
        model = spec.end2end(model, {**e2e, "imgsz": (h, w)})
        if amax is not None:
            amax = WithPolicy(for_end2end(amax.amax, model, inputs[0].name),
                              amax.policy.for_end2end() if amax.policy is not None else None)
        dyn = {"min_imgsz": dynamic_min_imgsz(spec)} if args.dynamic else {}
        inputs = model.inputs((h, w), args.batch or 1, args.max_batch, **dyn)
        if shaped is not None:
            inputs = with_image_input(inputs, shaped)
    return model, inputs, amax


def run(args: argparse.Namespace) -> int:
    model, inputs, amax = prepare(args)
    if args.format == "ultralytics":  # refused before the build when ultralytics could not feed the engine
        check_ultralytics_io({"inputs": [{"name": i.name, "shape": list(i.shape), "dtype": dtypes.short(i.dtype)}
                                         for i in inputs], "outputs": [{"name": "num_dets"}] if args.end2end else []})
    output_dtype = args.output_dtype or ("fp32" if args.end2end else None)  # EfficientNMS: float32 boxes, scores
    paths = paths_for_end2end if args.end2end else list
    net = define(model, inputs, precision_of(args, amax, paths), debug_outputs=args.debug_output,
                 output_dtype=output_dtype)
    facts = describe_model(model, registered(args.target))
    del model  # the network keeps what the builder needs; weights that BN folding replaced are freed
    engine = build_network(net, workspace=args.workspace << 20 if args.workspace else None,
                           options=engine_options(args))
    where = save_engine(engine, args.output, cli_metadata(args, registered(args.target), facts, engine), args.format)
    print(f"wrote {args.output}: {engine.nbytes / 1e6:.2f} MB, {net.network.num_layers} layers, "
          f"definition {engine.define_seconds:.2f}s, builder {engine.build_seconds:.2f}s ({engine.backend}); "
          f"metadata {where}")
    for kind, infos in (("input", engine.inputs), ("output", engine.outputs)):
        for info in infos:
            print(f"  {kind:6} {info}")
    for line in describe_ranges(inputs):
        print(f"  range  {line}")
    return 0
