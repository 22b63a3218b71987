"""Build a CenterNet (ctdet) TensorRT engine (random weights unless a checkpoint is given).

    python examples/centernet.py [ctdet_coco_dla_2x.pth] [--arch dla34|dlav0_34|res18|res101] [--imgsz 512 512]
                                 [--dtype fp16] [--end2end]

Raw: the engine takes `input` [1, 3, H, W] (BGR, (x/255 - mean) / std) and returns the heads hm [1, C, H/4, W/4]
(logits), wh and reg [1, 2, H/4, W/4]. With --end2end it takes uint8 BGR NHWC images (already warped to H x W as
CenterNet's test affine does) plus orig_size [1, 2] (h, w), and returns the top-100 peaks above conf in
EfficientNMS' layout (num_dets, det_boxes in original-image pixels, det_scores, det_classes).
"""
import argparse

import trtnn
from trtnn import models
from trtnn.io.sidecar import engine_metadata
from trtnn.models.centernet import CtdetEnd2End
from trtnn.models.vision import ctdet_preprocess

ARCHS = ("dla34", "dlav0_34", "res18", "res101")  # registered as centernet_<arch>

p = argparse.ArgumentParser(description="CenterNet -> TensorRT engine")
p.add_argument("weights", nargs="?", help="CenterNet checkpoint ({'epoch', 'state_dict'}; random weights if omitted)")
p.add_argument("--arch", default="dla34", choices=ARCHS)
p.add_argument("--num-classes", type=int, help="without a checkpoint (default 80; with one: read off it)")
p.add_argument("--imgsz", type=int, nargs=2, default=(512, 512), metavar=("H", "W"))
p.add_argument("--dtype", default="fp16", choices=("fp16", "fp32"))
p.add_argument("--out", default="centernet.engine")
p.add_argument("--end2end", action="store_true", help="uint8 BGR NHWC images in, final detections out")
args = p.parse_args()

if args.weights:  # heads (class count), head_conv read off the checkpoint; 'state_dict' unwrapped, 'module.' stripped
    if args.num_classes is not None:
        p.error("--num-classes: the class count is read off the checkpoint")
    model = models.from_checkpoint(f"centernet_{args.arch}", args.weights)
else:
    model = models.get(f"centernet_{args.arch}")(num_classes=args.num_classes or 80)
inputs = [trtnn.Input("input", (1, 3, *args.imgsz))]
if args.end2end:  # normalization, peak extraction, top-K and the inverse affine inside the engine
    model = CtdetEnd2End(model, K=100, conf=0.3, preprocess=ctdet_preprocess("NHWC", bgr=True), scale_to_orig=True)
    inputs = model.inputs(tuple(args.imgsz))
engine = trtnn.build(model, inputs, dtype=args.dtype, output_dtype="fp32")
spec = models.spec(f"centernet_{args.arch}")  # <out>.json: the outputs and what they mean
engine.save(args.out, metadata=engine_metadata(engine, models.describe_model(model, spec), task=spec.task.name,
                                               meanings=models.sidecar_meanings(spec, args.end2end)))
print(f"{engine} -> {args.out}")
