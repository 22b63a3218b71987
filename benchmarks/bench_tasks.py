"""Checkpoint -> end-to-end TensorRT plan per task (detect NMS-free, segment, pose): time and peak memory.

    python benchmarks/bench_tasks.py [--models yolo26n,yolo26s,yolov10n,yolo11n-seg,yolov8n-pose,yolov8n-seg_shapes]
                                     [--dtypes fp32,fp16] [--no-write]

Each (model, dtype[, head]) runs `trtnn build <model> --weights <checkpoint> --imgsz <size> --end2end --preprocess
--orig-size` (NMS-free models, YOLO26 and YOLOv10: once per `--head`, one2one and one2many) in a fresh `python`
subprocess (this file with --child): imports first (trtnn, torch, tensorrt_rtx), unmeasured; then the command,
measured: wall clock and the peak resident memory it added (ru_maxrss at the end minus VmRSS after the imports).
Checkpoints are made first (not measured): torch.save(state_dict) of the faithful references in tests/refmodels with
randomized BatchNorm statistics, at 640. A name ending in `_shapes` is instead the real ultralytics checkpoint
../shared/data/<name>.pt (trained at 320 on the shapes data; skipped when absent), built at 320.
Prints the table and writes benchmarks/results/tasks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Optional, Tuple

from bench_vs_onnx import _maxrss_kb, _rss_kb
from common import SHARED, report

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
REAL_SUFFIX = "_shapes"


def make_checkpoint(name: str, path: str) -> None:
    """torch.save the state_dict of the reference model `name` (e.g. yolo26n, yolo11n-seg, yolov8n-pose)."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import torch

    from refmodels import randomize_bn
    from refmodels import yolo as refyolo

    import trtnn

    spec = trtnn.models.spec(name)  # the registry says the family (yolo11-seg: refyolo.yolo11_seg) and the scale
    factory = getattr(refyolo, spec.family.replace("-", "_"))
    torch.manual_seed(0)
    torch.save(randomize_bn(factory(spec.scales[name])).state_dict(), path)


def checkpoint_for(name: str, tmp: str) -> Optional[Tuple[str, str, int, str]]:
    """(trtnn model name, checkpoint path, imgsz, checkpoint kind) for a --models entry; None if its file is absent."""
    if name.endswith(REAL_SUFFIX):
        path = os.path.join(SHARED, "data", f"{name}.pt")
        return (name[:-len(REAL_SUFFIX)], path, 320, "real (shapes)") if os.path.isfile(path) else None
    path = os.path.join(tmp, f"{name}.pt")
    make_checkpoint(name, path)
    return name, path, 640, "reference"


def child(argv: list) -> None:
    import torch  # noqa: F401  (imports are not measured)

    from trtnn import backend
    from trtnn.cli import main

    backend.get()
    base = _rss_kb()
    t0 = time.perf_counter()
    code = main(argv)
    seconds = time.perf_counter() - t0
    print(json.dumps({"code": code, "s": seconds, "peak_mb": (_maxrss_kb() - base) / 1024,
                      "plan_mb": os.path.getsize(argv[argv.index("-o") + 1]) / 1e6}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--models", default="yolo26n,yolo26s,yolov10n,yolo11n-seg,yolov8n-pose,yolov8n-seg_shapes")
    p.add_argument("--dtypes", default="fp32,fp16")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--child", nargs=argparse.REMAINDER)
    args = p.parse_args()
    if args.child:
        return child(args.child)
    import trtnn  # the parent only reads the registry; the children are measured

    rows = []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
    with tempfile.TemporaryDirectory() as tmp:
        for entry in args.models.split(","):
            found = checkpoint_for(entry, tmp)
            if found is None:
                print(f"skipped {entry}: no checkpoint in {os.path.join(SHARED, 'data')}")
                continue
            name, ckpt, imgsz, kind = found
            nms_free = "head" in trtnn.models.spec(name).end2end_defaults  # YOLOv10 / YOLO26: two heads
            heads = ("one2one", "one2many") if nms_free else (None,)
            for dtype in args.dtypes.split(","):
                for head in heads:
                    argv = ["build", name, "--weights", ckpt, "--imgsz", str(imgsz), "--dtype", dtype, "--end2end",
                            "--preprocess", "--orig-size", "-o", os.path.join(tmp, "x.plan")]
                    if head:
                        argv += ["--head", head]
                    run = subprocess.run([sys.executable, __file__, "--child", *argv], capture_output=True, text=True,
                                         env=env, cwd=HERE)
                    if run.returncode:
                        raise SystemExit(f"trtnn {' '.join(argv)} failed:\n{run.stderr}")
                    r = json.loads(run.stdout.strip().splitlines()[-1])
                    rows.append([name, kind, imgsz, dtype, head or "-", f"{os.path.getsize(ckpt) / 1e6:.1f}",
                                 f"{r['s']:.1f}", f"{r['peak_mb']:.0f}", f"{r['plan_mb']:.1f}"])
                    print(*rows[-1], flush=True)
    notes = ("One run each in a fresh subprocess; wall clock of `trtnn build MODEL --weights CKPT --imgsz SIZE "
             "--dtype DTYPE --end2end [--head HEAD] --preprocess --orig-size` (checkpoint read, model, definition, "
             "TensorRT-RTX CPU build, plan write); peak MB = ru_maxrss at the end minus the RSS after the imports. "
             "Checkpoint 'reference' = state_dict of tests/refmodels' model with randomized BatchNorm statistics "
             "(80 classes; yolov8n-pose 1 class, 17 keypoints); 'real (shapes)' = the ultralytics checkpoint "
             "../shared/data/yolov8n-seg_shapes.pt (3 classes, an fp16 pickled module). Other jobs shared the 2 cores.")
    headers = ["model", "checkpoint", "imgsz", "dtype", "head", "checkpoint MB", "build s", "peak MB", "plan MB"]
    if args.no_write:
        from common import table

        print(table(headers, rows))
    else:
        report("tasks", "Checkpoint -> end-to-end plan per task (tensorrt_rtx)", headers, rows, notes)


if __name__ == "__main__":
    main()
