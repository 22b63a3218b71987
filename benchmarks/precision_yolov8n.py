"""`trtnn precision` on the real YOLOv8n checkpoint: the 10 modules that lose most in INT8 (and fp16) against fp32,
on shapes val images, and the keep_fp32 lists the automatic mode (greedy and bisect) finds for an output SQNR target.

Run: python benchmarks/precision_yolov8n.py [--images 4] [--calib-images 64] [--method entropy] [--target-sqnr 40]
         [--runs int8,fp16,greedy,bisect,bisect_reverse]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from common import SHARED, report, shapes_dataset, table  # noqa: E402
from trtnn import cli  # noqa: E402

HEADERS = ["run", "module", "SQNR dB", "in SQNR dB", "drop dB", "max rel", "overflow", "underflow"]
PROBE_HEADERS = ["run", "probe", "step", "units", "keep_fp32 paths", "output SQNR dB", "met"]


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


def probe_rows(name: str, doc: dict) -> list:
    """One row per probe of an automatic run."""
    return [[name, k, r.get("step", "greedy"), r.get("units", ""), len(r["keep_fp32"]), db(r["output_sqnr_db"]),
             "yes" if r["met"] else "no"] for k, r in enumerate(doc["rounds"])]


RUNS = ("int8", "fp16", "greedy", "bisect", "bisect_reverse")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=4, help="val images compared")
    ap.add_argument("--calib-images", type=int, default=64, help="val images calibrated on (--calib-data)")
    ap.add_argument("--method", default="entropy")
    ap.add_argument("--target-sqnr", type=float, default=40.0)
    ap.add_argument("--max-rounds", type=int, default=6, help="greedy: at most N changes")
    ap.add_argument("--max-probes", type=int, default=24, help="bisect: at most N probes after the first")
    ap.add_argument("--runs", default=",".join(RUNS),
                    help=f"comma-separated subset of {','.join(RUNS)}; a subset writes precision_yolov8n_<runs>.md")
    args = ap.parse_args()
    chosen = args.runs.split(",")
    if not chosen or any(r not in RUNS for r in chosen):
        ap.error(f"--runs {args.runs}: a comma-separated subset of {','.join(RUNS)}")
    root = shapes_dataset()
    val = os.path.join(root, "images", "val")
    cache = os.path.join(tempfile.gettempdir(), f"trtnn_precision_yolov8n_{args.method}_{args.calib_images}.json")
    common = ["--images", str(args.images), "--calib-data", val]
    int8 = ["--dtype", "int8", "--calib-method", args.method, "--calib-images", str(args.calib_images),
            "--calib-cache", cache]
    target = ["--target-sqnr", str(args.target_sqnr)]
    flags = {"int8": [*int8, *common], "fp16": ["--dtype", "fp16", *common],
             "greedy": [*int8, *common, *target, "--strategy", "greedy", "--max-rounds", str(args.max_rounds)],
             "bisect": [*int8, *common, *target, "--strategy", "bisect", "--max-rounds", str(args.max_probes)]}
    flags["bisect_reverse"] = [*flags["bisect"], "--direction", "reverse"]
    first_int8 = next((n for n in RUNS if n in chosen and n != "fp16"), None)
    if first_int8:
        flags[first_int8].append("--recalibrate")  # the later INT8 runs reuse this calibration
    runs = {(n if n in ("int8", "fp16") else "int8 " + n): precision(*flags[n]) for n in RUNS if n in chosen}
    rows = [r for n in ("int8", "fp16") if n in runs for r in top_rows(n, runs[n])]
    notes = [f"{n}: output SQNR {db(d['output_sqnr_db'])} dB, {len(d['overflow'])} module(s) overflow, "
             f"{len(d['underflow'])} underflow, {d['seconds']:.0f}s" for n, d in runs.items()]
    autos = {n: d for n, d in runs.items() if n.startswith("int8 ")}
    for n, d in autos.items():
        notes.append(f"{n} (target output SQNR {args.target_sqnr:g} dB): {'met' if d['met'] else 'NOT met'} after "
                     f"{len(d['rounds'])} probe(s); keep_fp32 ({len(d['keep_fp32'])}) {d['keep_fp32']}")
    probes = [r for n, d in autos.items() for r in probe_rows(n, d)]
    text = "\n".join(f"- {n}" for n in notes)
    if probes and rows:
        text += "\n\nProbes of the automatic runs:\n\n" + table(PROBE_HEADERS, probes)
    text += (f"\n\nINT8: {args.method} calibration by the command on the first {args.calib_images} images of "
             "--calib-data (the val folder: `trtnn precision` compares on the same data it calibrates on), Q/DQ "
             "placed by trtnn, the rest in fp16. Commands:\n" + "\n".join(f"    {d['command']}" for d in runs.values()))
    name = "precision_yolov8n" + ("" if len(chosen) == len(RUNS) else "_" + "_".join(chosen))
    if rows:
        report(name, f"trtnn precision: YOLOv8n (real checkpoint), the 10 modules with the lowest SQNR against fp32 "
               f"on {args.images} shapes val images", HEADERS, rows, notes=text)
    else:
        report(name, f"trtnn precision --target-sqnr {args.target_sqnr:g}: YOLOv8n (real checkpoint) INT8, every "
               f"probe of the automatic mode on {args.images} shapes val images", PROBE_HEADERS, probes, notes=text)


if __name__ == "__main__":
    main()
