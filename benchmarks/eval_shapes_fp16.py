"""fp16 against fp32: mAP of the real YOLOv8n checkpoint on all 300 shapes val images in the validator's setting of
eval_shapes.py (imgsz 320, multi-label NMS, conf 0.001, iou 0.7), end-to-end on the CPU executor.

Target (issue 9): fp16 within 0.005 of fp32. The executor computes fp16 convolutions as TensorRT does (fp16 inputs
and weights, fp32 accumulation, output rounded to fp16); every other layer runs in fp16 with torch's CPU kernels.
Run: python benchmarks/eval_shapes_fp16.py [--dtypes fp16 fp32] [--limit N]   (rows are written as they finish)
"""
from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
import trtnn  # noqa: E402
from common import SHARED, report, shapes_dataset  # noqa: E402
from eval_shapes import evaluate  # noqa: E402
from trtnn.eval import YoloImages  # noqa: E402

HEADERS = ["dtype", "imgsz", "NMS", "mAP50-95", "mAP50", "vs ultralytics val", "detections", "ms/image"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtypes", nargs="+", default=["fp16", "fp32"])
    ap.add_argument("--limit", type=int, default=0, help="only the first N validation images")
    args = ap.parse_args()
    state = trtnn.load_checkpoint(os.path.join(SHARED, "data", "yolov8n_shapes.pt"))
    data = YoloImages(shapes_dataset(), "val", limit=args.limit)
    rows = []
    for dtype in args.dtypes:
        rows.append(evaluate(state, data, dtype, 320, True))
        maps = {r[0]: float(r[3]) for r in rows}
        gap = f"fp16 - fp32 mAP50-95: {maps['fp16'] - maps['fp32']:+.4f} (target: within 0.005). " \
            if {"fp16", "fp32"} <= set(maps) else ""
        report("eval_shapes_fp16", f"YOLOv8n (real ultralytics checkpoint) fp16 vs fp32 on {len(data)} shapes val "
               "images, CPU executor", HEADERS, rows,
               notes=gap + "conf 0.001, iou 0.7, max_det 300, pre-NMS top 3840, multi-label NMS, images letterboxed "
                     "as ultralytics' validator. fp16: the whole end-to-end network (preprocessing, model, decode, "
                     "NMS) in fp16, boxes and scores output in fp32; convolutions accumulate in fp32 (as TensorRT's "
                     "fp16 kernels). ms/image measured on a shared, heavily loaded 2-core machine.")


if __name__ == "__main__":
    main()
