"""Which part of a network INT8/FP8 hurts: box mAP50-95 and mAP50 of one checkpoint's end-to-end engine (300 shapes
val images, the protocol of eval_int8_defaults.py) with every tensor quantized by one fixed method, then with each
given module path (or comma-separated group) kept in fp32. Prints one JSON line per configuration.

Run: python benchmarks/eval_exclusions.py NAME=CKPT [PATH[,PATH...] ...] [--dtype fp8] [--method minmax] [--limit 0]
     (fp8_yolo26n.md: python benchmarks/eval_exclusions.py yolo26n=/work/ckpt/yolo26n_shapes.pt
      model.model.23.cv2 model.model.23.cv3 model.model.0)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import trtnn  # noqa: E402
from common import shapes_dataset  # noqa: E402
from eval_int8_defaults import wrapper  # noqa: E402
from trtnn.eval import YoloImages, evaluate_end2end  # noqa: E402
from trtnn.quant.methods import compute_amax  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint", metavar="NAME=CKPT")
    ap.add_argument("groups", nargs="*", metavar="PATH[,PATH...]")
    ap.add_argument("--dtype", default="fp8", choices=["int8", "fp8"])
    ap.add_argument("--method", default="minmax", choices=["minmax", "percentile", "entropy", "mse"])
    ap.add_argument("--limit", type=int, default=0)
    args = ap.parse_args()
    name, path = args.checkpoint.split("=", 1)
    e2e = wrapper(name, path, "detect", 352, 1000)
    data = trtnn.quant.image_data(os.path.join(shapes_dataset(), "images", "train"), name, 320, 8, limit=64)
    cal = trtnn.quant.calibrate(e2e, e2e.inputs((320, 320), batch=8), data, dtype=args.dtype, budget=None)
    amax = {t: compute_amax(s, args.method, 99.99) for t, s in cal.stats.items()}
    val = YoloImages(shapes_dataset(), "val", limit=args.limit)
    for group in ["fp32", "none"] + args.groups:
        t0 = time.perf_counter()
        kw = {} if group == "fp32" else {"calibration": amax,
                                         "exclude": cal.exclude + ([] if group == "none" else group.split(","))}
        net = trtnn.define(e2e, e2e.inputs((352, 352), batch=10), dtype="fp32" if group == "fp32" else args.dtype,
                           output_dtype="fp32", **kw)
        r = evaluate_end2end(net, val, nc=3).results()
        print(json.dumps({"kept in fp32": group, "mAP50-95": round(r["mAP50-95"], 4), "mAP50": round(r["mAP50"], 4),
                          "seconds": round(time.perf_counter() - t0)}), flush=True)


if __name__ == "__main__":
    main()
