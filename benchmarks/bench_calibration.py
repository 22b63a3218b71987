"""Calibration cost on the CPU: seconds per image of trtnn.quant's one-pass statistics run against one plain CPU
executor forward, for the real YOLOv8n checkpoint (../shared/data/yolov8n_shapes.pt) at 320 on shapes train images.

Target (issue 9): calibration costs at most 1.3x the plain forwards. Also: amax computation per method.
Run: python benchmarks/bench_calibration.py [--images 32] [--batch 4] [--imgsz 320] [--repeats 3] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402

import trtnn  # noqa: E402
from common import SHARED, report, shapes_dataset  # noqa: E402
from trtnn.quant import METHODS, TensorStats, activation_tensors, compute_amax, image_data  # noqa: E402
from trtnn.quant.stats import DEFAULT_SAMPLES  # noqa: E402
from trtnn.reference import Executor  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--imgsz", type=int, default=320)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (1: CPU times least disturbed by a shared machine)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
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
    every = activation_tensors(net.network)
    rows = []
    for label, tensors, samples in (("every floating tensor (default)", every, DEFAULT_SAMPLES),
                                    ("every floating tensor, full histograms", every, None),
                                    ("every one but SiLU's inner sigmoid", [n for n in every if ":sigmoid" not in n],
                                     DEFAULT_SAMPLES)):
        stats = {t: TensorStats(t, 2048, samples) for t in tensors}

        def observe(name, value):
            if name in stats:
                stats[name].update(value)
        forward = calib = 0.0
        for feed in feeds:  # per batch, the least CPU time of the repeats, interleaved (the machine may be shared)
            forward += min(cpu_seconds(lambda: plain(feed)) for _ in range(args.repeats))
            calib += min(cpu_seconds(lambda: plain(feed, observe=observe))
                         for _ in range(args.repeats))
        amax_s = {m: cpu_seconds(lambda: [compute_amax(s, m) for s in stats.values()]) for m in METHODS}
        rows.append([label, len(tensors), samples or "all", f"{forward / images * 1e3:.0f}",
                     f"{calib / images * 1e3:.0f}", f"{calib / forward:.2f}x",
                     " ".join(f"{m} {v:.1f}" for m, v in amax_s.items())])
    forward = keep_all = 0.0
    for feed in feeds:
        forward += min(cpu_seconds(lambda: plain(feed)) for _ in range(args.repeats))
        keep_all += min(cpu_seconds(lambda: plain(feed, keep_all=True)) for _ in range(args.repeats))
    rows.append(["(no statistics: Executor(feed, keep_all=True) alone)", len(every), "-",
                 f"{forward / images * 1e3:.0f}", f"{keep_all / images * 1e3:.0f}", f"{keep_all / forward:.2f}x", "-"])
    report("calibration", f"Calibration cost, YOLOv8n (real checkpoint) at {args.imgsz}, batch {args.batch}, "
                          f"{images} shapes train images, CPU executor",
           ["tensors", "count", "histogram samples/tensor/batch", "plain forward CPU ms/img",
            "calibration CPU ms/img", "vs plain", "amax CPU s per method (once)"], rows,
           notes=f"CPU seconds (process time) with {args.threads} torch thread(s), per batch the least of "
                 f"{args.repeats} interleaved repeats; images decoded beforehand. "
                 "calibration = what trtnn.quant.collect runs per batch: a forward that observes each tensor as it is "
                 "computed + exact abs-max and a 2048-bin "
                 "|x| histogram (of a strided sample when the tensor is larger than the samples) per tensor, one "
                 "pass. amax: turning all statistics into amax, once per calibration. Target: at most 1.3x the "
                 "plain forwards. Last row: holding every tensor (keep_all=True) instead of observing them as they "
                 "are computed.")


def cpu_seconds(fn) -> float:
    t0 = time.process_time()
    fn()
    return time.process_time() - t0

if __name__ == "__main__":
    main()
