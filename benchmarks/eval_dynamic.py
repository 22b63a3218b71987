"""One dynamic end-to-end engine per real ultralytics checkpoint (../shared/data) at two image sizes, 320x320 and
256x416, on the shapes val images: its outputs against static networks built at each size, and the box (and mask)
mAP (ultralytics' validator protocol: conf 0.001, iou 0.7, multi-label NMS, letterbox without scale-up), on the CPU
executor. Each dynamic network has a dynamic batch 1..10 and height/width 32..416 in one profile.

Run: python benchmarks/eval_dynamic.py [NAME=CKPT[:TASK] ...] [--limit N] [--jobs 2]
     (default: the six checkpoints in ../shared/data)
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Dict, List

sys.path.insert(0, os.path.dirname(__file__))
import torch  # noqa: E402

import trtnn  # noqa: E402
from common import SHARED, report, shapes_dataset  # noqa: E402
from eval_int8_defaults import wrapper  # noqa: E402
from trtnn.eval import DetectionMetrics, SegmentationMetrics, YoloImages, score_batch  # noqa: E402
from trtnn.reference import Executor  # noqa: E402

BATCH = 10
SIZES = ((320, 320), (256, 416))
CHECKPOINTS = ("yolov8n=yolov8n_shapes.pt", "yolov8s=yolov8s_shapes.pt", "yolov10s=yolov10s_shapes.pt",
               "yolov8n-seg=yolov8n-seg_shapes.pt:segment", "yolo11n-seg=yolo11n-seg_shapes.pt:segment",
               "yolo26s-seg=yolo26s-seg_shapes.pt:segment")


def run_checkpoint(job: Dict[str, Any]) -> List[List[Any]]:
    torch.set_num_threads(1)
    name, path, task = job["name"], job["path"], job["task"]
    e2e = wrapper(name, path, task, 416, job["topk"])
    dynamic = Executor(trtnn.define(e2e, e2e.inputs((416, 416), max_batch=BATCH, min_imgsz=(32, 32))))
    seg = task == "segment"
    data = YoloImages(shapes_dataset(), "val", labels="labels_seg" if seg else "labels", limit=job["limit"])
    rows = []
    for hw in SIZES:
        static = Executor(trtnn.define(e2e, e2e.inputs(hw, batch=BATCH)))
        metrics = {kind: (SegmentationMetrics(3) if seg else DetectionMetrics(3)) for kind in ("static", "dynamic")}
        seconds = {"static": 0.0, "dynamic": 0.0}
        differ = 0
        for start, (images, sizes, targets, ratio_pads) in zip(range(0, len(data), BATCH),
                                                                data.batches(BATCH, hw, False)):
            n = len(images)
            outs = {}
            for kind, ex in (("static", static), ("dynamic", dynamic)):
                x = torch.from_numpy(images)
                if kind == "static" and n < BATCH:  # the static network takes full batches: pad the last one
                    x = torch.cat([x, torch.zeros((BATCH - n, *x.shape[1:]), dtype=x.dtype)])
                t0 = time.perf_counter()
                outs[kind] = ex({"images": x})
                seconds[kind] += time.perf_counter() - t0
                score_batch(metrics[kind], outs[kind], data, start, sizes, targets, ratio_pads, hw)
            differ += sum(not torch.equal(outs["static"][k][:n], outs["dynamic"][k]) for k in outs["dynamic"])
        for kind in ("static", "dynamic"):
            r = metrics[kind].results()
            box, mask = (r["box"], r["mask"]) if seg else (r, None)
            rows.append([name, f"{hw[0]}x{hw[1]}", kind, f"{box['mAP50-95']:.4f}",
                         "-" if mask is None else f"{mask['mAP50-95']:.4f}",
                         f"{1000 * seconds[kind] / len(data):.0f}",
                         "" if kind == "static" else ("identical" if not differ else f"{differ} outputs differ")])
    print(rows, flush=True)
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoints", nargs="*", metavar="NAME=CKPT[:TASK]")
    ap.add_argument("--limit", type=int, default=0, help="only the first N validation images")
    ap.add_argument("--topk", type=int, default=1000, help="pre-NMS top-k (as eval_int8_defaults.py)")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    jobs = []
    for item in args.checkpoints or CHECKPOINTS:
        name, rest = item.split("=", 1)
        path, _, task = rest.partition(":")
        path = path if os.path.exists(path) else os.path.join(SHARED, "data", path)
        jobs.append({"name": name, "path": path, "task": task or "detect", "limit": args.limit, "topk": args.topk})
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = [r for rows in pool.map(run_checkpoint, jobs) for r in rows]
    n = args.limit or 300
    report("eval_dynamic", f"One dynamic end-to-end network per real checkpoint vs static ones, {n} shapes val images",
           ["checkpoint", "imgsz", "network", "box mAP50-95", "mask mAP50-95", "ms/image", "outputs vs static"], rows,
           notes="Real checkpoints (ultralytics 8.4.190, ../shared/data), fp32, end to end (uint8 NHWC BGR in, "
                 "letterbox as the validator, multi-label NMS conf 0.001 iou 0.7 max_det 300, pre-NMS top-k "
                 f"{args.topk}; NMS-free ones: the branch their flag selects; segmentation: masks at the prototypes' "
                 "resolution). Dynamic: batch 1..10, height/width 32..416 in one profile; the last batch runs at its "
                 "real size on the dynamic network (the static one pads it). ultralytics' own val (imgsz 320, rect "
                 "batches padded to 352) is in ../shared/data/README.md. `python benchmarks/eval_dynamic.py`")
    return 0


if __name__ == "__main__":
    sys.exit(main())
