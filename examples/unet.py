"""Build a milesial Pytorch-UNet TensorRT engine with the mask computed in the engine.

    python examples/unet.py [checkpoint.pth] [--classes 2] [--bilinear] [--imgsz 480 640] [--dtype fp16]

Random weights unless a checkpoint (from its train.py) is given. The engine takes `images` [1, C, H, W]
(any H, W; odd sizes too) and returns `logits` [1, classes, H, W] and `mask` (int32: argmax [1, H, W] for
classes > 1, sigmoid > 0.5 as [1, 1, H, W] for one class).
"""
import argparse

import trtnn
from trtnn import models
from trtnn.io.sidecar import engine_metadata

p = argparse.ArgumentParser(description="UNet -> TensorRT engine")
p.add_argument("weights", nargs="?", help="state_dict .pth from milesial's train.py (random weights if omitted)")
p.add_argument("--channels", type=int, help="without a checkpoint (default 3; with one: read off it)")
p.add_argument("--classes", type=int, help="without a checkpoint (default 2; with one: read off it)")
p.add_argument("--bilinear", action="store_true", help="bilinear upsampling (a checkpoint must match it)")
p.add_argument("--imgsz", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
p.add_argument("--dtype", default="fp16", choices=("fp16", "fp32"))
p.add_argument("--out", default="unet.engine")
args = p.parse_args()

name = "unet_bilinear" if args.bilinear else "unet"
if args.weights:  # channels and classes read off the checkpoint (train.py's mask_values is dropped)
    if args.channels is not None or args.classes is not None:
        p.error("--channels/--classes: read off the checkpoint")
    model = models.from_checkpoint(name, args.weights, ignore_keys=["mask_values"], output="mask")
else:
    model = models.UNet(args.channels or 3, args.classes or 2, args.bilinear, output="mask")
engine = trtnn.build(model, [trtnn.Input("images", (1, model.n_channels, *args.imgsz))], dtype=args.dtype)
spec = models.spec(name)  # <out>.json: the outputs and what they mean
engine.save(args.out, metadata=engine_metadata(engine, models.describe_model(model, spec), task=spec.task.name,
                                               meanings=models.sidecar_meanings(spec, False)))
print(f"{engine} -> {args.out}")
