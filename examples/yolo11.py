"""Build a YOLO11 TensorRT engine (random weights unless a checkpoint is given).

    python examples/yolo11.py [yolo11n.pt] [--scale n] [--nc 80] [--imgsz 640 640] [--dtype fp16] [--end2end]

With a checkpoint, the class count (and everything else the model needs) is read off it, as `trtnn build` does, and
the class names go into the engine's JSON (`<out>.json`: names, inputs and outputs with their meanings).

The engine takes `images` [1, 3, H, W] (RGB, /255) and returns `output0` [1, 4 + nc, A]: xywh in input pixels
and class scores, the output of ultralytics' export (NMS not included).
"""
import argparse

import trtnn
from trtnn import models
from trtnn.io.checkpoint import read_metadata
from trtnn.io.sidecar import engine_metadata
from trtnn.models.yolo.tasks import End2End
from trtnn.models.vision import Preprocess

p = argparse.ArgumentParser(description="YOLO11 -> TensorRT engine")
p.add_argument("weights", nargs="?", help="ultralytics .pt or a state_dict file (random weights if omitted)")
p.add_argument("--scale", default="n", choices=list("nsmlx"))
p.add_argument("--nc", type=int, help="classes, without a checkpoint (default 80; with one: read off it)")
p.add_argument("--imgsz", type=int, nargs=2, default=(640, 640), metavar=("H", "W"))
p.add_argument("--dtype", default="fp16", choices=("fp16", "fp32"))
p.add_argument("--out", default="yolo11.engine")
p.add_argument("--end2end", action="store_true", help="uint8 BGR NHWC images in, final detections out")
args = p.parse_args()

if args.weights:  # configured from the checkpoint (class count...), weights loaded strictly
    if args.nc is not None:
        p.error("--nc: the class count is read off the checkpoint")
    model = models.from_checkpoint(f"yolo11{args.scale}", args.weights)
else:
    model = models.yolo11(args.scale, args.nc or 80)
inputs, names = [trtnn.Input("images", (1, 3, *args.imgsz))], ["output0"]
if args.end2end:  # preprocessing, decode and class-aware NMS inside the engine (EfficientNMS-style outputs)
    model = End2End(model, "v8", preprocess=Preprocess("NHWC", bgr=True))
    inputs, names = model.inputs(tuple(args.imgsz)), None
engine = trtnn.build(model, inputs, dtype=args.dtype, output_names=names, output_dtype="fp32")
spec = models.spec(f"yolo11{args.scale}")
names = read_metadata(args.weights).get("names") if args.weights else None  # ultralytics' class names
engine.save(args.out, metadata=engine_metadata(engine, models.describe_model(model, spec), names=names,
                                               task=spec.task.name, meanings=models.sidecar_meanings(spec, args.end2end)))
print(f"{engine} -> {args.out}")
