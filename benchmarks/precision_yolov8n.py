"""`trtnn precision` on the real YOLOv8n checkpoint: the 10 modules that lose most in INT8 (and fp16) against fp32,
on shapes val images, and the keep_fp32 list the automatic mode finds for an output SQNR target.

Run: python benchmarks/precision_yolov8n.py [--images 4] [--calib-images 64] [--method entropy] [--target-sqnr 40]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import SHARED, report, shapes_dataset  # noqa: E402
from trtnn import cli  # noqa: E402

HEADERS = ["run", "module", "SQNR dB", "in SQNR dB", "drop dB", "max rel", "overflow", "underflow"]


def precision(*flags: str) -> dict:
    """One `trtnn precision yolov8n` run (printed) and its JSON report, with the wall seconds."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "r.json")
        argv = ["precision", "yolov8n", "--weights", os.path.join(SHARED, "data", "yolov8n_shapes.pt"), "--imgsz",
                "320", *flags, "--json", out]
        command = "trtnn " + " ".join(argv[:-2]).replace(SHARED, "../shared").replace(os.path.expanduser("~"), "~")
        print(command)
        t0 = time.perf_counter()
        code = cli.main(argv)
        doc = json.load(open(out))
    doc["seconds"], doc["exit"], doc["command"] = time.perf_counter() - t0, code, command
    return doc


def db(v) -> str:
    """A JSON dB value (a number, or 'inf' / '-inf')."""
    return f"{v:.1f}" if isinstance(v, float) else str(v)


def top_rows(name: str, doc: dict, n: int = 10) -> list:
    rows = {r["path"]: r for r in doc["rows"]}
    return [[name, p, db(rows[p]["sqnr_db"]), db(rows[p]["input_sqnr_db"]), db(rows[p]["drop_db"]),
             f"{rows[p]['max_rel']:.3g}" if isinstance(rows[p]["max_rel"], float) else rows[p]["max_rel"],
             f"{rows[p]['overflow']:.3g}", f"{rows[p]['underflow']:.3g}"] for p in doc["worst"][:n]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=4, help="val images compared")
    ap.add_argument("--calib-images", type=int, default=64, help="val images calibrated on (--calib-data)")
    ap.add_argument("--method", default="entropy")
    ap.add_argument("--target-sqnr", type=float, default=40.0)
    ap.add_argument("--max-rounds", type=int, default=6)
    args = ap.parse_args()
    root = shapes_dataset()
    val = os.path.join(root, "images", "val")
    cache = os.path.join(tempfile.gettempdir(), f"trtnn_precision_yolov8n_{args.method}_{args.calib_images}.json")
    common = ["--images", str(args.images), "--calib-data", val]
    int8 = ["--dtype", "int8", "--calib-method", args.method, "--calib-images", str(args.calib_images),
            "--calib-cache", cache, "--recalibrate"]
    runs = {"int8": precision(*int8, *common), "fp16": precision("--dtype", "fp16", *common)}
    int8[-1:] = []  # the automatic run reuses the cache just written
    runs["int8 auto"] = precision(*int8, *common, "--target-sqnr", str(args.target_sqnr), "--max-rounds",
                                  str(args.max_rounds))
    rows = top_rows("int8", runs["int8"]) + top_rows("fp16", runs["fp16"])
    notes = [f"{n}: output SQNR {db(d['output_sqnr_db'])} dB, {len(d['overflow'])} module(s) overflow, "
             f"{len(d['underflow'])} underflow, {d['seconds']:.0f}s" for n, d in runs.items()]
    auto = runs["int8 auto"]
    notes.append(f"int8 auto (target output SQNR {args.target_sqnr:g} dB, at most {args.max_rounds} rounds): "
                 f"{'met' if auto['met'] else 'NOT met'} after {len(auto['rounds'])} round(s); keep_fp32 "
                 f"{auto['keep_fp32']}; output SQNR per round "
                 f"{[db(r['output_sqnr_db']) for r in auto['rounds']]}")
    report("precision_yolov8n", f"trtnn precision: YOLOv8n (real checkpoint), the 10 modules with the lowest SQNR "
           f"against fp32 on {args.images} shapes val images", HEADERS, rows,
           notes="\n".join(f"- {n}" for n in notes) + f"\n\nINT8: {args.method} calibration by the command on the "
           f"first {args.calib_images} images of --calib-data (the val folder: `trtnn precision` compares on the same "
           f"data it calibrates on), Q/DQ placed by trtnn, the rest in fp16. Commands:\n"
           + "\n".join(f"    {d['command']}" for d in runs.values()))


if __name__ == "__main__":
    main()
