"""Box and mask mAP of the real YOLOv8n-seg checkpoint (../shared/data/yolov8n-seg_shapes.pt, ultralytics 8.4) on its
300 validation images, through trtnn's end-to-end segmentation engine (preprocess, model, decode, NMS, masks inside)
run on the CPU executor.

ultralytics' own val (imgsz 320, rect batches padded to 352, conf 0.001, iou 0.7, multi-label NMS, max_det 300):
box mAP50-95 0.946, mask mAP50-95 0.856. Target (issue 10): both within 0.005. Masks are scored as ultralytics 8.4's
validator does (trtnn.eval.segmentation): at the prototypes' resolution (1/4 of the letterboxed input) against the
polygons rasterized with overlap_mask.
Run: python benchmarks/eval_shapes_seg.py [--imgsz 352 320] [--limit N] [--batch 10]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import trtnn  # noqa: E402
from common import SHARED, report, shapes_dataset  # noqa: E402
from trtnn.eval import YoloImages, evaluate_segment_end2end  # noqa: E402
from trtnn.models.detect import Preprocess  # noqa: E402
from trtnn.models.segment import SegmentEnd2End  # noqa: E402

ULTRALYTICS = {"box": 0.94579532, "mask": 0.85557031}  # its val, exact (tests/data/ultralytics_val)


def evaluate(data: YoloImages, imgsz: int, batch: int, dtype: str) -> list:
    model = trtnn.models.from_checkpoint("yolov8n-seg", os.path.join(SHARED, "data", "yolov8n-seg_shapes.pt"))
    e2e = SegmentEnd2End(model, conf=0.001, iou=0.7, max_det=300, preprocess=Preprocess("NHWC", bgr=True),
                         pre_nms_topk=3840, multi_label=True, mask_resolution="proto")
    net = trtnn.define(e2e, e2e.inputs((imgsz, imgsz), batch=batch), dtype=dtype, output_dtype="fp32")
    t0 = time.perf_counter()
    r = evaluate_segment_end2end(net, data, nc=3).results()
    seconds = time.perf_counter() - t0
    box, mask = r["box"], r["mask"]
    return [dtype, imgsz, f"{box['mAP50-95']:.4f}", f"{box['mAP50-95'] - ULTRALYTICS['box']:+.4f}",
            f"{mask['mAP50-95']:.4f}", f"{mask['mAP50-95'] - ULTRALYTICS['mask']:+.4f}", f"{box['mAP50']:.4f}",
            f"{mask['mAP50']:.4f}", box["detections"], f"{seconds / len(data) * 1e3:.0f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--imgsz", type=int, nargs="+", default=[352])
    ap.add_argument("--dtypes", nargs="+", default=["fp32"])
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--limit", type=int, default=0, help="only the first N validation images")
    args = ap.parse_args()
    data = YoloImages(shapes_dataset(), "val", labels="labels_seg", limit=args.limit)
    rows = [evaluate(data, imgsz, args.batch, dtype) for dtype in args.dtypes for imgsz in args.imgsz]
    report("eval_shapes_seg",
           f"YOLOv8n-seg (real ultralytics checkpoint) on {len(data)} shapes val images, CPU executor",
           ["dtype", "imgsz", "box mAP50-95", "vs ultralytics", "mask mAP50-95", "vs ultralytics", "box mAP50",
            "mask mAP50", "detections", "ms/image"], rows,
           notes="SegmentEnd2End (mask_resolution='proto'), conf 0.001, iou 0.7, multi-label NMS, max_det 300, "
                 "pre_nms_topk 3840; images letterboxed as ultralytics' validator (scaleup=False: 352 pads the 320x320 "
                 "images, as its rect batches do). Masks scored at 1/4 of the input against the labels_seg polygons "
                 "rasterized as ultralytics 8.4 (1000-point resampling, overlap_mask, mask_ratio 4). ultralytics val: "
                 "box mAP50-95 0.946, mask mAP50-95 0.856.")


if __name__ == "__main__":
    main()
