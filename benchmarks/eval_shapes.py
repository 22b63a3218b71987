"""mAP of the real YOLOv8n checkpoint (../shared/data/yolov8n_shapes.pt, ultralytics 8.4) on its 300 validation
images, through trtnn's end-to-end engine (preprocess, model, decode, NMS inside) run on the CPU executor.

ultralytics' own val (imgsz 320, conf 0.001, iou 0.7, rect batches padded to 352, multi-label NMS): box mAP50-95
0.9645, mAP50 0.994. Target (issue 9): fp32 within 0.005 of it; fp16 within 0.005 of fp32.
Run: python benchmarks/eval_shapes.py [--dtypes fp32 fp16] [--limit N]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import trtnn  # noqa: E402
from common import SHARED, report, shapes_dataset  # noqa: E402
from trtnn.eval import YoloImages, evaluate_end2end  # noqa: E402
from trtnn.models.detect import End2End, Preprocess  # noqa: E402

ULTRALYTICS = {"mAP50-95": 0.9645, "mAP50": 0.994}


def evaluate(state, data: YoloImages, dtype: str, imgsz: int, multi_label: bool) -> list:
    model = trtnn.models.yolov8("n", nc=3)
    model.load_state_dict(state)
    e2e = End2End(model, conf=0.001, iou=0.7, max_det=300, preprocess=Preprocess("NHWC", bgr=True),
                  pre_nms_topk=3840, multi_label=multi_label)
    net = trtnn.define(e2e, e2e.inputs((imgsz, imgsz), batch=10), dtype=dtype, output_dtype="fp32")
    t0 = time.perf_counter()
    r = evaluate_end2end(net, data, nc=3).results()
    seconds = time.perf_counter() - t0
    return [dtype, imgsz, "multi-label (val)" if multi_label else "best class (predict)", f"{r['mAP50-95']:.4f}",
            f"{r['mAP50']:.4f}", f"{r['mAP50-95'] - ULTRALYTICS['mAP50-95']:+.4f}", r["detections"],
            f"{seconds / len(data) * 1e3:.0f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtypes", nargs="+", default=["fp32", "fp16"])
    ap.add_argument("--limit", type=int, default=0, help="only the first N validation images")
    args = ap.parse_args()
    state = trtnn.load_checkpoint(os.path.join(SHARED, "data", "yolov8n_shapes.pt"))
    data = YoloImages(shapes_dataset(), "val", limit=args.limit)
    rows = []
    for dtype in args.dtypes:
        for imgsz, multi_label in ((320, False), (320, True), (352, True)):
            rows.append(evaluate(state, data, dtype, imgsz, multi_label))
    report("eval_shapes", f"YOLOv8n (real ultralytics checkpoint) on {len(data)} shapes val images, CPU executor",
           ["dtype", "imgsz", "NMS", "mAP50-95", "mAP50", "vs ultralytics val", "detections", "ms/image"], rows,
           notes="conf 0.001, iou 0.7, max_det 300; images letterboxed as ultralytics' validator (scaleup=False: "
                 "352 pads the 320x320 images). ultralytics val: mAP50-95 0.9645, mAP50 0.994.")


if __name__ == "__main__":
    main()
