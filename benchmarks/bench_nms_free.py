"""Checkpoint -> end-to-end TensorRT plan for the NMS-free models (YOLO26, YOLOv10): time and peak memory.

    python benchmarks/bench_nms_free.py [--models yolo26n,yolo26s,yolov10n] [--dtypes fp32,fp16] [--no-write]

Each (model, dtype, head) runs `trtnn build <model> --weights <checkpoint> --imgsz 640 --end2end --head <head>
--preprocess --orig-size` in a fresh `python` subprocess (this file with --child): imports first (trtnn, torch,
tensorrt_rtx), unmeasured; then the command, measured: wall clock and the peak resident memory it added
(ru_maxrss at the end minus VmRSS after the imports). Checkpoints are made first (not measured):
torch.save(state_dict) of the faithful references in tests/refmodels with randomized BatchNorm statistics.
Prints the table and writes benchmarks/results/nms_free.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from bench_vs_onnx import _maxrss_kb, _rss_kb
from common import report

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def make_checkpoint(name: str, path: str) -> None:
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import torch

    import refmodels

    family, scale = name[:-1], name[-1]
    torch.manual_seed(0)
    torch.save(refmodels.randomize_bn(getattr(refmodels, family)(scale)).state_dict(), path)


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
    p.add_argument("--models", default="yolo26n,yolo26s,yolov10n")
    p.add_argument("--dtypes", default="fp32,fp16")
    p.add_argument("--no-write", action="store_true")
    p.add_argument("--child", nargs=argparse.REMAINDER)
    args = p.parse_args()
    if args.child:
        return child(args.child)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            ckpt = os.path.join(tmp, f"{name}.pt")
            make_checkpoint(name, ckpt)
            for dtype in args.dtypes.split(","):
                for head in ("one2one", "one2many"):
                    argv = ["build", name, "--weights", ckpt, "--imgsz", "640", "--dtype", dtype, "--end2end",
                            "--head", head, "--preprocess", "--orig-size", "-o", os.path.join(tmp, "x.plan")]
                    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}
                    out = subprocess.run([sys.executable, __file__, "--child", *argv], capture_output=True, text=True,
                                         env=env, check=True, cwd=HERE).stdout
                    r = json.loads(out.strip().splitlines()[-1])
                    rows.append([name, dtype, head, f"{os.path.getsize(ckpt) / 1e6:.1f}", f"{r['s']:.1f}",
                                 f"{r['peak_mb']:.0f}", f"{r['plan_mb']:.1f}"])
                    print(*rows[-1])
    notes = ("One run each in a fresh subprocess; wall clock of `trtnn build ... --end2end --head HEAD --preprocess "
             "--orig-size` at 640x640 (checkpoint read, model, definition, TensorRT-RTX CPU build, plan write); "
             "peak MB = ru_maxrss at the end minus the RSS after the imports. Other jobs shared the 2 cores.")
    headers = ["model", "dtype", "head", "checkpoint MB", "build s", "peak MB", "plan MB"]
    if args.no_write:
        from common import table

        print(table(headers, rows))
    else:
        report("nms_free", "Checkpoint -> end-to-end plan, NMS-free models (tensorrt_rtx)", headers, rows, notes)


if __name__ == "__main__":
    main()
