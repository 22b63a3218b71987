"""How many NMS candidates (anchor, class pairs with score > conf, as multi-label NMS takes them) each real checkpoint
gives per val image: the evidence that eval_int8_defaults.py's pre-NMS top-k (1000) drops none, so its mAP is
that of an unbounded NMS (ultralytics' max_nms is 30000).

Run: python benchmarks/count_candidates.py NAME=CKPT[:TASK] ... [--conf 0.001] [--dtypes fp32 int8]
     (raw model of the branch the end-to-end wrapper uses, 352 letterbox as the validator; int8: minmax calibration
     on 64 train images with the spec's never-quantize list, the noisiest fixed-method INT8 network)
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import numpy as np  # noqa: E402
import torch  # noqa: E402

import trtnn  # noqa: E402
from common import report, shapes_dataset  # noqa: E402
from trtnn.eval import YoloImages  # noqa: E402
from trtnn.reference import Executor  # noqa: E402

BATCH = 10


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", metavar="NAME=CKPT[:TASK]")
    ap.add_argument("--conf", type=float, default=0.001)
    ap.add_argument("--dtypes", nargs="+", default=["fp32", "int8"], choices=["fp32", "int8"])
    args = ap.parse_args()
    root = shapes_dataset()
    rows = []
    for item in args.checkpoints:
        name, rest = item.split("=", 1)
        path = rest.partition(":")[0]
        model = trtnn.models.from_checkpoint(name, path, head="one2many" if name.startswith(("yolov10", "yolo26"))
                                             else None)
        nc = 3
        inputs = [trtnn.Input("images", (BATCH, 3, 352, 352))]
        for dtype in args.dtypes:
            quant = {}
            if dtype == "int8":
                data = trtnn.quant.image_data(os.path.join(root, "images", "train"), name, 320, 8, limit=64)
                cal = trtnn.quant.calibrate(model, [trtnn.Input("images", (8, 3, 320, 320))], data,
                                            method="minmax", budget=None)
                quant = {"calibration": cal}
            run = Executor(trtnn.define(model, inputs, dtype=dtype, output_dtype="fp32", **quant).network)
            counts = []
            for images, *_ in YoloImages(root, "val").batches(BATCH, (352, 352), False):
                n = len(images)
                x = torch.from_numpy(images[..., ::-1].transpose(0, 3, 1, 2).astype(np.float32) / 255)
                if n < BATCH:
                    x = torch.cat([x, torch.zeros((BATCH - n, *x.shape[1:]))])
                out = run({"images": x})
                pred = next(iter(out.values()))[:n]  # [B, 4 + nc (+ extra), A]
                counts += (pred[:, 4:4 + nc] > args.conf).sum(dim=(1, 2)).tolist()
            c = np.array(counts)
            rows.append([name, dtype, len(c), int(c.max()), int(np.percentile(c, 99)), int(np.median(c))])
            print(rows[-1], flush=True)
    report("pre_nms_candidates", f"NMS candidates (scores > {args.conf:g}) per shapes val image, real checkpoints",
           ["checkpoint", "dtype", "images", "max", "99th percentile", "median"], rows,
           notes="Raw model (NMS-free checkpoints: the one2many branch their flag selects) on the 352 letterbox, "
                 "multi-label candidates (anchor, class) as ultralytics' non_max_suppression and trtnn's NMS take "
                 "them. A pre-NMS top-k at or above the max drops no candidate. int8: minmax, every layer but the "
                 "spec's DFL quantized, calibrated on 64 train images.")


if __name__ == "__main__":
    main()
