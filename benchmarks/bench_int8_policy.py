"""What trtnn.quant.calibrate's default INT8/FP8 policy chooses on each real checkpoint, and what it costs: layers
kept in fp16, share of conv/matmul FLOPs in INT8/FP8, SQNR of the task outputs vs fp32 (all quantized, then with the
policy), methods changed per tensor, wall seconds of calibration and of the sensitivity step.

Run: python benchmarks/bench_int8_policy.py NAME=CKPT ... [--dtypes int8 fp8] [--calib-images 64]
     [--budget 25] [--results int8_policy]
"""
from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import trtnn  # noqa: E402
from common import report, shapes_dataset  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", metavar="NAME=CKPT")
    ap.add_argument("--dtypes", nargs="*", default=["int8"], choices=["int8", "fp8"])
    ap.add_argument("--calib-images", type=int, default=64)
    ap.add_argument("--budget", type=float, default=trtnn.quant.DEFAULT_BUDGET)
    ap.add_argument("--results", default="int8_policy")
    args = ap.parse_args()
    images = os.path.join(shapes_dataset(), "images", "train")
    rows = []
    for item in args.checkpoints:
        name, path = item.split("=", 1)
        for dtype in args.dtypes:
            model = trtnn.models.from_checkpoint(name, path)
            data = trtnn.quant.image_data(images, name, 320, 8, limit=args.calib_images)
            t0 = time.perf_counter()
            cal = trtnn.quant.calibrate(model, [trtnn.Input("images", (8, 3, 320, 320))], data, dtype=dtype,
                                        budget=args.budget)
            total = time.perf_counter() - t0
            p = cal.policy
            print(p, flush=True)
            fmt = lambda d: ", ".join(f"{k} {v:.1f}" for k, v in d.items())  # noqa: E731
            rows.append([name, dtype, len(p.kept), ", ".join(p.kept) or "-", ", ".join(p.defaults) or "-",
                         f"{p.int8_flops:.1%}", fmt(p.sqnr_all), ", ".join(p.at_risk) if p.kept else "-",
                         fmt(p.sqnr), len(p.methods),
                         f"{total - p.seconds:.0f}", f"{p.seconds:.0f} (CPU {p.cpu_seconds:.0f})"])
            report(args.results, "trtnn.quant.calibrate's default INT8/FP8 policy on the real checkpoints (CPU)",
                   ["checkpoint", "dtype", "kept", "layers kept in fp16", "never quantized (spec)",
                    "conv/matmul FLOPs in INT8/FP8", "SQNR dB, all quantized", "kept for (parts at risk)",
                    "SQNR dB, policy",
                    "tensors with another method", "calibration s", "sensitivity step s (CPU s, all threads)"], rows,
                   notes=f"Raw models at 320, calibrated on {args.calib_images} shapes train images (batches of 8), "
                         f"the default method (INT8 mse, FP8 minmax) + per-tensor method, budget {args.budget:g} dB per "
                         "task output part (boxes, by their edges' error relative to their size, and mask "
                         "coefficients where the fp32 score >= 0.1, scores everywhere, mask logits at the 32 best "
                         "anchors; the parts within AT_RISK_MARGIN dB of the budget with everything quantized "
                         "decide what is kept), measured on the first 8 calibration "
                         "images; layers kept by error removed per FLOP. Times: wall seconds on the machine below, "
                         "shared with other jobs.")


if __name__ == "__main__":
    main()
