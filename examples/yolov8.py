"""Build a YOLOv8 TensorRT engine (random weights unless a checkpoint is given).

    python examples/yolov8.py [yolov8n.pt] [--scale n] [--nc 80] [--imgsz 640 640] [--dtype fp16]

The engine takes `images` [1, 3, H, W] (RGB, /255) and returns `output0` [1, 4 + nc, A]: xywh in input pixels
and class scores, the output of ultralytics' export (NMS not included).
"""
import argparse

import trtnn
from trtnn.checkpoint import load_checkpoint
from trtnn.models import yolov8

p = argparse.ArgumentParser(description="YOLOv8 -> TensorRT engine")
p.add_argument("weights", nargs="?", help="ultralytics .pt or a state_dict file (random weights if omitted)")
p.add_argument("--scale", default="n", choices=list("nsmlx"))
p.add_argument("--nc", type=int, default=80)
p.add_argument("--imgsz", type=int, nargs=2, default=(640, 640), metavar=("H", "W"))
p.add_argument("--dtype", default="fp16", choices=("fp16", "fp32"))
p.add_argument("--out", default="yolov8.engine")
args = p.parse_args()

model = yolov8(args.scale, args.nc)
if args.weights:
    model.load_state_dict(load_checkpoint(args.weights), strict=True)
engine = trtnn.build(model, [trtnn.Input("images", (1, 3, *args.imgsz))], dtype=args.dtype, output_names=["output0"])
engine.save(args.out)
print(f"{engine} -> {args.out}")
