"""mAP of the real YOLOv8n checkpoint (../shared/data/yolov8n_shapes.pt, ultralytics 8.4) on its 300 validation
images, through trtnn's end-to-end engine (preprocess, model, decode, NMS inside) run on the CPU executor.

ultralytics' own val (imgsz 320, conf 0.001, iou 0.7, rect batches padded to 352, multi-label NMS): box mAP50-95
0.9645, mAP50 0.994. Target (issue 9): fp32 within 0.005 of it; fp16 within 0.005 of fp32; INT8 (best method,
calibrated on <= 256 train images) within 0.01 of fp32.
Run: python benchmarks/eval_shapes.py [--dtypes fp32 fp16] [--int8 minmax percentile entropy mse] [--fp8 ...]
     [--int8-dfl METHOD ...] [--calib-images 64] [--limit N] [--imgsz 352]
     (every row: the validator's protocol, multi-label NMS on the 352 letterbox; INT8/FP8 rows: the DFL convolution
     kept unquantized except in --int8-dfl rows)
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
from trtnn.models.yolo.tasks import End2End  # noqa: E402
from trtnn.models.vision import Preprocess  # noqa: E402

ULTRALYTICS = {"mAP50-95": 0.96451822, "mAP50": 0.99478124}  # its val, exact (tests/data/ultralytics_val)


def calibration(state, root: str, method: str, images: int) -> dict:
    """amax per tensor of the end-to-end network, from the raw model calibrated on `images` train images (the raw
    model's tensors sit under `model.` in End2End, its input is the preprocessing's output)."""
    model = trtnn.models.yolov8("n", nc=3)
    model.load_state_dict(state)
    data = trtnn.quant.image_data(os.path.join(root, "images", "train"), "yolov8n", 320, 8, limit=images)
    cal = trtnn.quant.calibrate(model, [trtnn.Input("images", (8, 3, 320, 320))], data, method=method)
    return trtnn.quant.for_end2end(cal.amax, End2End(model, preprocess=Preprocess()), "images")


def evaluate(state, data: YoloImages, dtype: str, imgsz: int, multi_label: bool, amax=None, method="",
             exclude=("model.model.22.dfl",)) -> list:
    model = trtnn.models.yolov8("n", nc=3)
    model.load_state_dict(state)
    e2e = End2End(model, conf=0.001, iou=0.7, max_det=300, preprocess=Preprocess("NHWC", bgr=True),
                  pre_nms_topk=3840, multi_label=multi_label)
    quant = dict(calibration=amax, exclude=list(exclude)) if amax is not None else {}
    net = trtnn.define(e2e, e2e.inputs((imgsz, imgsz), batch=10), dtype=dtype, output_dtype="fp32", **quant)
    t0 = time.perf_counter()
    r = evaluate_end2end(net, data, nc=3).results()
    seconds = time.perf_counter() - t0
    dtype = f"{dtype} ({method})" if method else dtype
    return [dtype, imgsz, "multi-label (val)" if multi_label else "best class (predict)", f"{r['mAP50-95']:.4f}",
            f"{r['mAP50']:.4f}", f"{r['mAP50-95'] - ULTRALYTICS['mAP50-95']:+.4f}", r["detections"],
            f"{seconds / len(data) * 1e3:.0f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtypes", nargs="*", default=["fp32", "fp16"])
    ap.add_argument("--int8", nargs="*", default=[], metavar="METHOD", help="calibration methods for INT8 rows")
    ap.add_argument("--fp8", nargs="*", default=[], metavar="METHOD", help="calibration methods for FP8 rows")
    ap.add_argument("--calib-images", type=int, default=64, help="train images to calibrate on")
    ap.add_argument("--limit", type=int, default=0, help="only the first N validation images")
    ap.add_argument("--imgsz", type=int, default=352, help="network input (352: ultralytics' rect val batches)")
    ap.add_argument("--int8-dfl", nargs="*", default=[], metavar="METHOD",
                    help="calibration methods for INT8 rows with the DFL convolution quantized too (evidence rows)")
    ap.add_argument("--results", default="", help="results file name (default eval_shapes, or eval_shapes_quant "
                                                  "with INT8/FP8 rows): parallel runs write separate files")
    args = ap.parse_args()
    state = trtnn.load_checkpoint(os.path.join(SHARED, "data", "yolov8n_shapes.pt"))
    root = shapes_dataset()
    data = YoloImages(root, "val", limit=args.limit)
    rows = []
    for dtype in args.dtypes:
        rows.append(evaluate(state, data, dtype, args.imgsz, True))
    quant_rows = [("int8", m, True) for m in args.int8] + [("fp8", m, True) for m in args.fp8] + \
                 [("int8", m, False) for m in args.int8_dfl]
    for dtype, method, keep_dfl in quant_rows:  # the table is rewritten after each row: a long run keeps its rows
        amax = calibration(state, root, method, args.calib_images)
        label = method if keep_dfl else f"{method}, DFL quantized"
        exclude = ("model.model.22.dfl",) if keep_dfl else ()
        rows.append(evaluate(state, data, dtype, args.imgsz, True, amax, label, exclude))
        write(rows, len(data), args.calib_images, True, args.results)
    if not quant_rows:
        write(rows, len(data), args.calib_images, False, args.results)


def write(rows: list, images: int, calib_images: int, quant: bool, name: str = "") -> None:
    report(name or ("eval_shapes_quant" if quant else "eval_shapes"),
           f"YOLOv8n (real ultralytics checkpoint) on {images} shapes val images, CPU executor",
           ["dtype", "imgsz", "NMS", "mAP50-95", "mAP50", "vs ultralytics val", "detections", "ms/image"], rows,
           notes="conf 0.001, iou 0.7, max_det 300; images letterboxed as ultralytics' validator (scaleup=False: "
                 "352 pads the 320x320 images). ultralytics val: mAP50-95 0.9645, mAP50 0.994. INT8/FP8: "
                 f"calibrated on {calib_images} train images (trtnn.quant.calibrate), Q/DQ placed by trtnn, the "
                 "rest in fp16, the DFL convolution (fixed weights 0..15) excluded unless the row says otherwise. "
                 "Executor time includes simulating Q/DQ. mAP as ultralytics 8.4.190 computes it (trtnn.eval; "
                 "tests/test_eval_ultralytics.py reproduces its figures from its own recorded predictions).")


if __name__ == "__main__":
    main()
