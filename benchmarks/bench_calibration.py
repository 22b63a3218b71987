"""Calibration cost on the CPU: seconds per image of trtnn.quant's one-pass statistics run against one plain CPU
executor forward, for the real YOLOv8n checkpoint (../shared/data/yolov8n_shapes.pt) at 320 on shapes train images.

Target (issue 9): calibration costs at most 1.3x the plain forwards. Also: amax computation per method.
Run: python benchmarks/bench_calibration.py [--images 32] [--batch 4] [--imgsz 320]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import trtnn  # noqa: E402
from common import SHARED, report, shapes_dataset  # noqa: E402
from trtnn.quant import METHODS, activation_tensors, collect, compute_amax, image_data  # noqa: E402
from trtnn.reference import Executor  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--imgsz", type=int, default=320)
    args = ap.parse_args()
    model = trtnn.models.yolov8("n", nc=3)
    model.load_state_dict(trtnn.load_checkpoint(os.path.join(SHARED, "data", "yolov8n_shapes.pt")))
    inputs = [trtnn.Input("images", (args.batch, 3, args.imgsz, args.imgsz))]
    data = image_data(os.path.join(shapes_dataset(), "images", "train"), "yolov8n", args.imgsz, args.batch,
                      limit=args.images)
    feeds = list(data)  # decoded once: both timings below exclude image reading
    images = len(feeds) * args.batch
    net = trtnn.define(model, inputs, dtype="fp32")
    plain = Executor(net)
    plain(feeds[0])  # warm-up
    t0 = time.perf_counter()
    for feed in feeds:
        plain(feed)
    forward = (time.perf_counter() - t0) / images
    rows = []
    for label, tensors in (("every floating tensor (default)", activation_tensors(net.network)),
                           ("network input + conv outputs", ["images"] + [n for n in activation_tensors(net.network)
                                                                          if n.endswith((".conv", ".bn"))])):
        t0 = time.perf_counter()
        run = collect(net, feeds, tensors, progress=False)
        total = (time.perf_counter() - t0) / images
        t0 = time.perf_counter()
        for method in METHODS:
            for s in run.stats.values():
                compute_amax(s, method)
        amax_s = (time.perf_counter() - t0) / len(METHODS)
        rows.append([label, len(tensors), f"{forward * 1e3:.0f}", f"{run.forward_seconds / images * 1e3:.0f}",
                     f"{run.stats_seconds / images * 1e3:.0f}", f"{total * 1e3:.0f}", f"{total / forward:.2f}x",
                     f"{amax_s:.2f}"])
    report("calibration", f"Calibration cost, YOLOv8n (real checkpoint) at {args.imgsz}, batch {args.batch}, "
                          f"{images} shapes train images, CPU executor",
           ["tensors", "count", "plain forward ms/img", "keep_all forward ms/img", "statistics ms/img",
            "calibration ms/img", "vs plain", "amax s/method (once)"], rows,
           notes="calibration = executor forward with keep_all=True + abs-max and 2048-bin |x| histogram per tensor "
                 "(one pass); images decoded beforehand for both. amax: seconds to turn all statistics into amax "
                 "for one method (once per calibration, not per image). Target: at most 1.3x the plain forwards.")


if __name__ == "__main__":
    main()
