"""Build a milesial Pytorch-UNet TensorRT engine with the mask computed in the engine.

    python examples/unet.py [checkpoint.pth] [--classes 2] [--bilinear] [--imgsz 480 640] [--dtype fp16]

Random weights unless a checkpoint (from its train.py) is given. The engine takes `images` [1, C, H, W]
(any H, W; odd sizes too) and returns `logits` [1, classes, H, W] and `mask` (int32: argmax [1, H, W] for
classes > 1, sigmoid > 0.5 as [1, 1, H, W] for one class).
"""
import argparse

import trtnn
from trtnn.io.checkpoint import load_checkpoint
from trtnn.models import UNet

p = argparse.ArgumentParser(description="UNet -> TensorRT engine")
p.add_argument("weights", nargs="?", help="state_dict .pth from milesial's train.py (random weights if omitted)")
p.add_argument("--channels", type=int, default=3)
p.add_argument("--classes", type=int, default=2)
p.add_argument("--bilinear", action="store_true")
p.add_argument("--imgsz", type=int, nargs=2, default=(480, 640), metavar=("H", "W"))
p.add_argument("--dtype", default="fp16", choices=("fp16", "fp32"))
p.add_argument("--out", default="unet.engine")
args = p.parse_args()

model = UNet(args.channels, args.classes, args.bilinear, output="mask")
if args.weights:
    state_dict = load_checkpoint(args.weights)
    state_dict.pop("mask_values", None)  # saved by train.py beside the weights
    model.load_state_dict(state_dict, strict=True)
engine = trtnn.build(model, [trtnn.Input("images", (1, args.channels, *args.imgsz))], dtype=args.dtype)
engine.save(args.out)
print(f"{engine} -> {args.out}")
