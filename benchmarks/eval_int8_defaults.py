"""INT8/FP8 defaults on every real checkpoint (issues 19 and 23): box (and mask) mAP50-95 on the shapes val images
through each checkpoint's end-to-end engine (preprocess, model, decode, NMS or top-k, masks) run on the CPU executor.

Rows per checkpoint: fp32, fp16, INT8 per fixed method (the spec's never-quantize list applied, nothing else
kept), INT8 with all defaults (trtnn.quant.calibrate's policy: method 'auto', budget DEFAULT_BUDGET dB; what it
kept in fp16, the share of conv/matmul FLOPs in INT8), FP8 with all defaults. Calibration: the end-to-end wrapper
itself (trtnn.quant.calibrate(End2End(...), ...), uint8 letterboxed train images), 64 train images in batches of 8.
NMS-free checkpoints (YOLOv10, YOLO26): the branch trtnn builds by default; fp32 of that branch is the reference.

Run: python benchmarks/eval_int8_defaults.py NAME=CKPT[:TASK] ... [--limit 100] [--rows fp32 fp16 minmax ...]
     [--jobs N] [--results int8_defaults]   (TASK: detect | segment; rows run in N processes)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(__file__))
import trtnn  # noqa: E402
from common import report, shapes_dataset  # noqa: E402
from trtnn.eval import YoloImages, evaluate_end2end, evaluate_segment_end2end  # noqa: E402
from trtnn.models.registry import spec  # noqa: E402

ROWS = ("fp32", "fp16", "minmax", "percentile", "entropy", "mse", "int8", "fp8")
EVAL = {"conf": 0.001, "iou": 0.7, "max_det": 300, "pre_nms_topk": 3840, "layout": "NHWC", "bgr": True,
        "runtime_thresholds": False, "scale_to_orig": False}


def wrapper(name: str, path: str, task: str, imgsz: int) -> Any:
    s = spec(name)
    model = trtnn.models.from_checkpoint(name, path)
    opts = {**s.end2end_defaults, **EVAL, "imgsz": (imgsz, imgsz)}
    if task == "segment":
        opts["mask_resolution"] = "proto"
    opts = {k: v for k, v in opts.items() if k in s.end2end_defaults or k in EVAL or k == "imgsz"}
    e2e = s.end2end(model, opts)
    if hasattr(e2e, "nms") and hasattr(e2e.nms, "multi_label"):
        e2e.nms.multi_label = True  # the validator's protocol
    return e2e


def run_row(job: Dict[str, Any]) -> List[Any]:
    import torch

    torch.set_num_threads(job["threads"])
    name, path, task, row, imgsz = job["name"], job["path"], job["task"], job["row"], job["imgsz"]
    root = shapes_dataset()
    e2e = wrapper(name, path, task, imgsz)
    calib_in = e2e.inputs((320, 320), batch=8)
    images = os.path.join(root, "images", "train")
    kept, flops, t_cal, method = "-", "-", 0.0, "-"
    quant: Dict[str, Any] = {}
    if row in ("minmax", "percentile", "entropy", "mse", "int8", "fp8"):
        t0 = time.perf_counter()
        data = trtnn.quant.image_data(images, name, 320, 8, limit=64)
        if row in ("int8", "fp8"):
            cal = trtnn.quant.calibrate(e2e, calib_in, data, dtype=row)
            kept = f"{len(cal.policy.kept)}: " + ", ".join(cal.policy.kept) if cal.policy.kept else "0"
            flops, method = f"{cal.policy.int8_flops:.1%}", f"auto ({len(cal.policy.methods)} changed)"
            print(cal.policy, flush=True)
        else:
            cal = trtnn.quant.calibrate(e2e, calib_in, data, method=row, budget=None)
            method = row
        t_cal = time.perf_counter() - t0
        quant = {"calibration": cal}
    dtype = row if row in ("fp32", "fp16", "fp8") else "int8"
    net = trtnn.define(e2e, e2e.inputs((imgsz, imgsz), batch=10), dtype=dtype, output_dtype="fp32", **quant)
    t0 = time.perf_counter()
    if task == "segment":
        data = YoloImages(root, "val", labels="labels_seg", limit=job["limit"])
        r = evaluate_segment_end2end(net, data, nc=3).results()
        box, mask = r["box"]["mAP50-95"], r["mask"]["mAP50-95"]
    else:
        data = YoloImages(root, "val", limit=job["limit"])
        box, mask = evaluate_end2end(net, data, nc=3).results()["mAP50-95"], None
    seconds = time.perf_counter() - t0
    return [name, row if row in ("fp32", "fp16") else f"{dtype} ({method})", box, mask, kept, flops,
            f"{t_cal:.0f}", f"{seconds / len(data):.2f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", metavar="NAME=CKPT[:TASK]")
    ap.add_argument("--rows", nargs="*", default=list(ROWS), choices=ROWS)
    ap.add_argument("--limit", type=int, default=100, help="first N val images (0: all 300)")
    ap.add_argument("--imgsz", type=int, default=352, help="352: ultralytics' rect val batches")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="torch threads per job")
    ap.add_argument("--results", default="int8_defaults")
    args = ap.parse_args()
    jobs = []
    for item in args.checkpoints:
        name, rest = item.split("=", 1)
        path, _, task = rest.partition(":")
        for row in args.rows:
            jobs.append({"name": name, "path": path, "task": task or "detect", "row": row, "imgsz": args.imgsz,
                         "limit": args.limit, "threads": args.threads})
    rows: List[List[Any]] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for row in pool.map(run_row, jobs):  # the table is rewritten after each row: a long run keeps its rows
            rows.append(row)
            write(rows, args)


def write(rows: List[List[Any]], args: argparse.Namespace) -> None:
    ref = {r[0]: r for r in rows if r[1] == "fp32"}
    table = []
    for r in rows:
        base = ref.get(r[0])
        d_box = f"{r[2] - base[2]:+.4f}" if base else "-"
        d_mask = f"{r[3] - base[3]:+.4f}" if base and r[3] is not None else "-"
        table.append([r[0], r[1], f"{r[2]:.4f}", d_box, "-" if r[3] is None else f"{r[3]:.4f}", d_mask, *r[4:]])
    n = args.limit or 300
    report(args.results, f"INT8/FP8 defaults on the real checkpoints: mAP50-95 on {n} shapes val images, CPU executor",
           ["checkpoint", "dtype", "box mAP50-95", "vs fp32", "mask mAP50-95", "vs fp32", "kept in fp16",
            "conv/matmul FLOPs in INT8/FP8", "calibration+policy s", "eval s/image"], table,
           notes="End-to-end engines (multi-label NMS, conf 0.001, iou 0.7, max_det 300; NMS-free checkpoints: the "
                 "branch trtnn builds by default), letterboxed to 352 as ultralytics' validator. Calibration: the "
                 "end-to-end wrapper itself on 64 train images (uint8, preprocessed inside the engine). Fixed-method "
                 "rows: the spec's never-quantize list (YOLO's DFL) only, no sensitivity step. int8 (auto) / fp8 "
                 "(auto): all defaults (trtnn.quant.calibrate: minmax + per-tensor method where it measurably helps, "
                 f"layers kept in fp16 for the {trtnn.quant.DEFAULT_BUDGET:g} dB budget). Timings are of the machine "
                 "named below, shared with other jobs (load average up to 17 on its 2 cores).")

if __name__ == "__main__":
    main()
