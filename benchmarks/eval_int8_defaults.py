"""INT8/FP8 on every real checkpoint (issues 19 and 23): box (and mask) mAP50-95 on the shapes val images through
each checkpoint's end-to-end engine (preprocess, model, decode, NMS or top-k, masks) run on the CPU executor.

Rows per checkpoint: fp32, fp16, INT8 per fixed method (the spec's never-quantize list applied, nothing else
kept), INT8 with all defaults (trtnn.quant.calibrate's policy: method 'auto', budget DEFAULT_BUDGET dB; what it
kept in fp16, the share of conv/matmul FLOPs in INT8), FP8 with all defaults, FP8 minmax with nothing else kept. Calibration: the end-to-end wrapper
itself (trtnn.quant.calibrate(End2End(...), ...), uint8 letterboxed train images), 64 train images in batches of 8,
once per checkpoint and dtype: the fixed-method rows take their amax from the same statistics.
NMS-free checkpoints (YOLOv10, YOLO26): the branch trtnn builds by default (the checkpoint's); fp32 of that branch
is the reference.

Run: python benchmarks/eval_int8_defaults.py NAME=CKPT[:TASK] ... [--limit 0] [--rows fp32 fp16 minmax ...]
     [--jobs 2] [--results int8_defaults] [--val shapes|heldout] [--report]   (TASK: detect | segment; checkpoints run in N processes;
     NAME 'yolov10s one2one': that NMS-free branch instead of the checkpoint's; rows already in the .jsonl are kept)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(__file__))
import trtnn  # noqa: E402
from common import heldout_shapes, report, shapes_dataset  # noqa: E402
from trtnn.eval import YoloImages, evaluate_end2end, evaluate_segment_end2end  # noqa: E402
from trtnn.models.registry import spec  # noqa: E402
from trtnn.quant.methods import compute_amax  # noqa: E402
from trtnn.quant.sensitivity import AT_RISK_MARGIN  # noqa: E402

ROWS = ("fp32", "fp16", "minmax", "percentile", "entropy", "mse", "int8", "fp8", "fp8-minmax")
# rows kept from an earlier run for the record: INT8 defaults when the default method was minmax (before this table
# showed mse better), with the policy of then (boxes scored in absolute pixels)
RECORD = ("int8-minmax-auto",)
FIXED = ("minmax", "percentile", "entropy", "mse")
# the validator's protocol; pre-NMS top-k 1000 instead of 3840: NMS cost grows with its square on the CPU, and no
# val image has more than 268 candidates over conf 0.001 (benchmarks/count_candidates.py, pre_nms_candidates.md)
EVAL = {"conf": 0.001, "iou": 0.7, "max_det": 300, "pre_nms_topk": 1000, "layout": "NHWC", "bgr": True,
        "runtime_thresholds": False, "scale_to_orig": False}


def wrapper(name: str, path: str, task: str, imgsz: int, topk: int, head: Any = None) -> Any:
    """The checkpoint's end-to-end wrapper in the validator's protocol (head: the NMS-free branch; None: the file's)."""
    s = spec(name)
    model = trtnn.models.from_checkpoint(name, path, head=head)
    opts = {**s.end2end_defaults, **EVAL, "imgsz": (imgsz, imgsz), "pre_nms_topk": topk}
    if task == "segment":
        opts["mask_resolution"] = "proto"
    opts = {k: v for k, v in opts.items() if k in s.end2end_defaults or k in EVAL or k == "imgsz"}
    e2e = s.end2end(model, opts)
    if hasattr(e2e, "nms") and hasattr(e2e.nms, "multi_label"):
        e2e.nms.multi_label = True  # the validator's protocol
    return e2e


def evaluate(e2e: Any, task: str, imgsz: int, limit: int, root: str, **quant: Any) -> Dict[str, Any]:
    dtype = quant.pop("dtype")
    net = trtnn.define(e2e, e2e.inputs((imgsz, imgsz), batch=10), dtype=dtype, output_dtype="fp32", **quant)
    t0 = time.perf_counter()
    if task == "segment":
        data = YoloImages(root, "val", labels="labels_seg", limit=limit)
        r = evaluate_segment_end2end(net, data, nc=3).results()
        box, mask = r["box"]["mAP50-95"], r["mask"]["mAP50-95"]
    else:
        data = YoloImages(root, "val", limit=limit)
        box, mask = evaluate_end2end(net, data, nc=3).results()["mAP50-95"], None
    return {"box": box, "mask": mask, "eval_s": (time.perf_counter() - t0) / len(data)}


def run_checkpoint(job: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Every row of one checkpoint, in order; each row is also appended to job['log'] (JSON lines) when done."""
    import torch

    torch.set_num_threads(job["threads"])
    label, path, task, imgsz = job["name"], job["path"], job["task"], job["imgsz"]
    name, _, head = label.partition(" ")  # 'yolov10s one2one': that branch instead of the checkpoint's
    e2e = wrapper(name, path, task, imgsz, job["topk"], head or None)
    calib_in = e2e.inputs((320, 320), batch=8)
    images = os.path.join(shapes_dataset(), "images", "train")
    rows, cals = [], {}
    done = {}
    if os.path.exists(job["log"]):  # rows of an earlier, interrupted run of this checkpoint are kept
        with open(job["log"]) as f:
            done = {r["row"]: r for r in map(json.loads, f) if r["checkpoint"] == label}

    def calibration(dtype: str) -> Any:
        if dtype not in cals:
            t0 = time.perf_counter()
            data = trtnn.quant.image_data(images, name, 320, 8, limit=job["calib_images"])
            budget = {} if job["budget"] is None else {"budget": job["budget"]}
            cal = trtnn.quant.calibrate(e2e, calib_in, data, dtype=dtype, **budget)
            cals[dtype] = (cal, time.perf_counter() - t0)
            print(f"{label}: {cal.policy}", flush=True)
        return cals[dtype]

    rows += [done[row] for row in RECORD if row in done]
    for row in job["rows"]:
        if row in done:
            rows.append(done[row])
            continue
        info: Dict[str, Any] = {"checkpoint": label, "row": row, "kept": "-", "flops": "-", "calib_s": 0.0}
        if row in ("fp32", "fp16"):
            got = evaluate(e2e, task, imgsz, job["limit"], job["val"], dtype=row)
        elif row in FIXED or row == "fp8-minmax":
            cal, seconds = calibration("int8")  # the statistics; FP8's minmax amax is INT8's
            amax = {t: compute_amax(s, row.split("-")[-1], 99.99) for t, s in cal.stats.items()}
            info["calib_s"] = seconds
            got = evaluate(e2e, task, imgsz, job["limit"], job["val"],
                           dtype=row.split("-")[0] if "-" in row else "int8", calibration=amax,
                           exclude=list(cal.policy.defaults))
        else:
            cal, seconds = calibration(row)
            p = cal.policy
            info.update(calib_s=seconds, policy_s=p.seconds, kept=p.kept, flops=p.int8_flops,
                        methods=len(p.methods), sqnr=p.sqnr)
            got = evaluate(e2e, task, imgsz, job["limit"], job["val"], dtype=row, calibration=cal)
        info.update(got)
        rows.append(info)
        with open(job["log"], "a") as f:
            f.write(json.dumps(info) + "\n")
        print(json.dumps(info), flush=True)
    return rows


def write(rows: List[Dict[str, Any]], args: argparse.Namespace) -> None:
    ref = {r["checkpoint"]: r for r in rows if r["row"] == "fp32"}
    table = []
    for r in rows:
        base = ref.get(r["checkpoint"])
        d_box = f"{r['box'] - base['box']:+.4f}" if base else "-"
        d_mask = f"{r['mask'] - base['mask']:+.4f}" if base and r["mask"] is not None else "-"
        label = {"int8": "int8 (defaults)", "fp8": "fp8 (defaults)", "fp8-minmax": "fp8 (minmax)",
                 "int8-minmax-auto": "int8 (defaults with minmax as the method, earlier policy: boxes in pixels)"}.get(r["row"])
        label = label or (r["row"] if r["row"] in ("fp32", "fp16") else f"int8 ({r['row']})")
        kept = "-" if r["kept"] == "-" else (f"{len(r['kept'])}: " + ", ".join(r["kept"]) if r["kept"] else "0")
        flops = "-" if r["flops"] == "-" else f"{r['flops']:.1%}"
        policy = f"{r['policy_s']:.0f}" if r.get("policy_s") else "-"
        table.append([r["checkpoint"], label, f"{r['box']:.4f}", d_box,
                      "-" if r["mask"] is None else f"{r['mask']:.4f}", d_mask, flops, kept,
                      f"{r['calib_s']:.0f}", policy, f"{r['eval_s']:.2f}"])
    n = args.limit or 300
    which = "held-out shapes images (seed 1)" if args.val == "heldout" else "shapes val images"
    report(args.results, f"INT8/FP8 on the real checkpoints: mAP50-95 on {n} {which}, CPU executor",
           ["checkpoint", "dtype", "box mAP50-95", "vs fp32", "mask mAP50-95", "vs fp32",
            "conv/matmul FLOPs in INT8/FP8", "kept in fp16", "calibration+policy s", "of it, sensitivity step s",
            "eval s/image"], table,
           notes="End-to-end engines (multi-label NMS, conf 0.001, iou 0.7, max_det 300, pre-NMS top-k "
                 f"{args.topk}; NMS-free checkpoints: the branch their flag selects, one2many + NMS for all trained "
                 "by ultralytics 8.4.190), letterboxed to 352 as ultralytics' validator. Calibration: the "
                 f"end-to-end wrapper itself on {args.calib_images} train images (uint8, preprocessed inside the "
                 "engine), once per checkpoint: int8 (<method>) and fp8 (minmax) rows take that method's amax from "
                 "the same statistics and apply the spec's never-quantize list (YOLO's DFL) only. int8 (defaults) / fp8 "
                 "(defaults): trtnn.quant.calibrate with every default (INT8 mse, FP8 minmax, + per-tensor method "
                 f"where it measurably helps, layers kept in fp16 for the {trtnn.quant.DEFAULT_BUDGET:g} dB budget, "
                 "most error per FLOP first; boxes scored by their edges' error relative to their size, the parts "
                 f"within {AT_RISK_MARGIN:g} dB of the budget with everything quantized steering). Seconds: wall, two checkpoints at a time on the machine below.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="+", metavar="NAME=CKPT[:TASK]")
    ap.add_argument("--rows", nargs="*", default=list(ROWS), choices=ROWS)
    ap.add_argument("--limit", type=int, default=0, help="first N val images (0: all 300)")
    ap.add_argument("--imgsz", type=int, default=352, help="352: ultralytics' rect val batches")
    ap.add_argument("--topk", type=int, default=EVAL["pre_nms_topk"], help="pre-NMS top-k")
    ap.add_argument("--calib-images", type=int, default=64)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per job")
    ap.add_argument("--results", default="int8_defaults")
    ap.add_argument("--budget", type=float, default=None, help="the policy's budget (default: trtnn's)")
    ap.add_argument("--val", default="shapes", choices=["shapes", "heldout"],
                    help="the val images scored: the shapes val split, or 300 of another seed (heldout_shapes)")
    ap.add_argument("--report", action="store_true", help="only write the table from the rows logged so far")
    args = ap.parse_args()
    log = os.path.join(os.path.dirname(__file__), "results", f"{args.results}.jsonl")
    if args.report:
        names = [c.split("=", 1)[0] for c in args.checkpoints]
        with open(log) as f:
            rows = [r for r in map(json.loads, f) if r["checkpoint"].split(" ")[0] in names]
        rows.sort(key=lambda r: (names.index(r["checkpoint"].split(" ")[0]), r["checkpoint"],
                                 (ROWS + RECORD).index(r["row"])))
        write(rows, args)
        return
    jobs = []
    for item in args.checkpoints:
        name, rest = item.split("=", 1)
        path, _, task = rest.partition(":")
        jobs.append({"name": name, "path": path, "task": task or "detect", "rows": args.rows, "imgsz": args.imgsz,
                     "limit": args.limit, "threads": args.threads, "topk": args.topk,
                     "calib_images": args.calib_images, "log": log, "budget": args.budget,
                     "val": heldout_shapes() if args.val == "heldout" else shapes_dataset()})
    rows: List[Dict[str, Any]] = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for done in as_completed([pool.submit(run_checkpoint, j) for j in jobs]):
            try:
                rows += done.result()
            except Exception as e:  # noqa: BLE001 - one checkpoint failing keeps the others' rows
                print(f"a checkpoint failed: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
                continue
            order = {j["name"]: i for i, j in enumerate(jobs)}
            rows.sort(key=lambda r: (order[r["checkpoint"]], (ROWS + RECORD).index(r["row"])))
            write(rows, args)


if __name__ == "__main__":
    main()
