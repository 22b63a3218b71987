"""Box and mask mAP of the real YOLOv8n-seg checkpoint (../shared/data/yolov8n-seg_shapes.pt, ultralytics 8.4) on its
300 validation images, through trtnn's end-to-end segmentation engine (preprocess, model, decode, NMS, masks inside)
run on the CPU executor.

ultralytics' own val (imgsz 320, rect batches padded to 352, conf 0.001, iou 0.7, multi-label NMS, max_det 300):
box mAP50-95 0.946, mask mAP50-95 0.856. Target (issue 10): both within 0.005. Masks are scored as ultralytics 8.4's
validator does (trtnn.eval.segmentation): at the prototypes' resolution (1/4 of the letterboxed input) against the
polygons rasterized with overlap_mask.
INT8/FP8 rows (issue 9): the raw seg model calibrated on shapes train images at 320 (trtnn.quant.calibrate), its
amax mapped onto the end-to-end network (trtnn.quant.for_end2end), Q/DQ placed by trtnn, the DFL convolution (fixed
weights 0..15) left unquantized by default, as benchmarks/eval_shapes.py does for detection.
Run: python benchmarks/eval_shapes_seg.py [--imgsz 352 320] [--limit N] [--batch 10] [--dtypes fp32 fp16]
     [--int8 minmax percentile entropy mse] [--fp8 METHOD ...] [--calib-images 64] [--exclude model.22.dfl]
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Optional, Sequence

sys.path.insert(0, os.path.dirname(__file__))
import trtnn  # noqa: E402
from common import SHARED, report, shapes_dataset  # noqa: E402
from trtnn.eval import YoloImages, evaluate_segment_end2end  # noqa: E402
from trtnn.models.vision import Preprocess  # noqa: E402
from trtnn.models.yolo.tasks import SegmentEnd2End  # noqa: E402

ULTRALYTICS = {"box": 0.94579532, "mask": 0.85557031}  # its val, exact (tests/data/ultralytics_val)
CHECKPOINT = os.path.join(SHARED, "data", "yolov8n-seg_shapes.pt")
DFL = ["model.22.dfl"]  # the raw model's DFL convolution


def calibration(root: str, method: str, images: int) -> dict:
    """amax per tensor of the end-to-end seg network, from the raw seg model calibrated on `images` train images
    (batches of 8, letterboxed to 320 as ultralytics predicts; its tensors sit under `model.` in SegmentEnd2End,
    its input is the preprocessing's output)."""
    model = trtnn.models.from_checkpoint("yolov8n-seg", CHECKPOINT)
    data = trtnn.quant.image_data(os.path.join(root, "images", "train"), trtnn.quant.yolo_preprocess, 320, 8,
                                  input_name="images", limit=images)
    cal = trtnn.quant.calibrate(model, [trtnn.Input("images", (8, 3, 320, 320))], data, method=method)
    return trtnn.quant.for_end2end(cal.amax, SegmentEnd2End(model, preprocess=Preprocess()), "images")


def evaluate(data: YoloImages, imgsz: int, batch: int, dtype: str, amax: Optional[dict] = None, method: str = "",
             exclude: Sequence[str] = ()) -> list:
    model = trtnn.models.from_checkpoint("yolov8n-seg", CHECKPOINT)
    e2e = SegmentEnd2End(model, conf=0.001, iou=0.7, max_det=300, preprocess=Preprocess("NHWC", bgr=True),
                         pre_nms_topk=3840, multi_label=True, mask_resolution="proto")
    quant = dict(calibration=amax, exclude=trtnn.quant.paths_for_end2end(list(exclude))) if amax is not None else {}
    net = trtnn.define(e2e, e2e.inputs((imgsz, imgsz), batch=batch), dtype=dtype, output_dtype="fp32", **quant)
    t0 = time.perf_counter()
    r = evaluate_segment_end2end(net, data, nc=3).results()
    seconds = time.perf_counter() - t0
    box, mask = r["box"], r["mask"]
    dtype = f"{dtype} ({method})" if method else dtype
    return [dtype, imgsz, f"{box['mAP50-95']:.4f}", f"{box['mAP50-95'] - ULTRALYTICS['box']:+.4f}",
            f"{mask['mAP50-95']:.4f}", f"{mask['mAP50-95'] - ULTRALYTICS['mask']:+.4f}", f"{box['mAP50']:.4f}",
            f"{mask['mAP50']:.4f}", box["detections"], f"{seconds / len(data) * 1e3:.0f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--imgsz", type=int, nargs="+", default=[352])
    ap.add_argument("--dtypes", nargs="*", default=["fp32"])
    ap.add_argument("--batch", type=int, default=10)
    ap.add_argument("--limit", type=int, default=0, help="only the first N validation images")
    ap.add_argument("--int8", nargs="*", default=[], metavar="METHOD", help="calibration methods for INT8 rows")
    ap.add_argument("--fp8", nargs="*", default=[], metavar="METHOD", help="calibration methods for FP8 rows")
    ap.add_argument("--calib-images", type=int, default=64, help="train images to calibrate on (batches of 8)")
    ap.add_argument("--exclude", nargs="*", default=DFL, metavar="PATH",
                    help="raw-model module paths (or types) left unquantized in INT8/FP8 rows (default: the DFL)")
    ap.add_argument("--results", default="", help="results file name (default eval_shapes_seg, or "
                                                  "eval_shapes_seg_quant with INT8/FP8 rows)")
    args = ap.parse_args()
    root = shapes_dataset()
    data = YoloImages(root, "val", labels="labels_seg", limit=args.limit)
    rows = [evaluate(data, imgsz, args.batch, dtype) for dtype in args.dtypes for imgsz in args.imgsz]
    quant_rows = [("int8", m) for m in args.int8] + [("fp8", m) for m in args.fp8]
    for dtype, method in quant_rows:  # the table is rewritten after each calibration: a long run keeps its rows
        amax = calibration(root, method, args.calib_images)
        label = method if args.exclude == DFL else f"{method}, excluded: {', '.join(args.exclude) or 'none'}"
        rows += [evaluate(data, imgsz, args.batch, dtype, amax, label, args.exclude) for imgsz in args.imgsz]
        write(rows, len(data), args)
    if not quant_rows:
        write(rows, len(data), args)


def write(rows: list, images: int, args: argparse.Namespace) -> None:
    quant = bool(args.int8 or args.fp8)
    report(args.results or ("eval_shapes_seg_quant" if quant else "eval_shapes_seg"),
           f"YOLOv8n-seg (real ultralytics checkpoint) on {images} shapes val images, CPU executor",
           ["dtype", "imgsz", "box mAP50-95", "vs ultralytics", "mask mAP50-95", "vs ultralytics", "box mAP50",
            "mask mAP50", "detections", "ms/image"], rows,
           notes="SegmentEnd2End (mask_resolution='proto'), conf 0.001, iou 0.7, multi-label NMS, max_det 300, "
                 "pre_nms_topk 3840; images letterboxed as ultralytics' validator (scaleup=False: 352 pads the 320x320 "
                 "images, as its rect batches do). Masks scored at 1/4 of the input against the labels_seg polygons "
                 "rasterized as ultralytics 8.4 (1000-point resampling, overlap_mask, mask_ratio 4). ultralytics val: "
                 "box mAP50-95 0.946, mask mAP50-95 0.856." + (
               f" INT8/FP8: calibrated on {args.calib_images} train images at 320 (trtnn.quant.calibrate, the raw "
               "model), Q/DQ placed by trtnn, the rest in fp16, the DFL convolution excluded unless the row says "
               "otherwise. Executor time includes simulating Q/DQ." if quant else ""))


if __name__ == "__main__":
    main()
