"""INT8/FP8 against fp32/fp16 per shipped model: TensorRT-RTX plan size (and what the bytes are), build time,
calibration cost on the CPU, accuracy of the raw outputs (SQNR against the fp32 network, CPU executor).

Models: yolov8n (the real checkpoint ../shared/data/yolov8n_shapes.pt, 320), yolov8s (640), UNet (320; 572 with
--unet-size 572), CenterNet ResNet-18 and DLA-34 (512). Models other than yolov8n have random conv weights with
BatchNorm statistics re-estimated on real images (the PyTorch reference models of tests/refmodels, BN in training
mode with cumulative averages over --bn-images shapes images, then loaded into trtnn): activations have realistic
ranges, so calibration and SQNR are meaningful, but there is no task accuracy to report for them.
Inputs: shapes images (../shared/data/shapes.py) through each family's own preprocessing (letterbox, resize,
affine warp). Calibration on train images, SQNR on val images. mAP (yolov8n only) is read from
benchmarks/results/eval_shapes*.md (benchmarks/eval_shapes.py: 300 val images, end-to-end engine).

Plan bytes: TensorRT-RTX plans hold the weights (binary) plus, for every kernel its JIT compiles on the target GPU
at load time, CUDA C++ source text (each with a ~130 kB header). The breakdown columns split the plan into that
source text, the graph description text and the rest (weights and binary data).
Run: python benchmarks/bench_quant.py [--models yolov8n yolov8s unet centernet_res18 centernet_dla34]
     [--method percentile] [--calib-images 8] [--sqnr-images 2] [--unet-size 320] [--results quant]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import time
from typing import Any, Dict, List, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "tests")]
import torch  # noqa: E402

import trtnn  # noqa: E402
from common import RESULTS, SHARED, report, shapes_dataset  # noqa: E402
from trtnn.quant import image_data  # noqa: E402
from trtnn.reference import Executor  # noqa: E402

DTYPES = ("fp32", "fp16", "int8", "fp8")
MODELS = ("yolov8n", "yolov8s", "unet", "centernet_res18", "centernet_dla34")


def reference(name: str) -> torch.nn.Module:
    from refmodels import centernet_dla34_dcn, centernet_resnet, unet, yolov8

    return {"yolov8s": lambda: yolov8("s"), "unet": lambda: unet(3, 2, False),
            "centernet_res18": lambda: centernet_resnet(18), "centernet_dla34": centernet_dla34_dcn}[name]()


def reestimate_bn(ref: torch.nn.Module, feeds: List[Dict[str, Any]]) -> None:
    """BatchNorm running statistics = cumulative averages over `feeds` (BN in training mode, nothing else trains)."""
    for m in ref.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            m.momentum = None
    ref.train()
    with torch.no_grad():
        for feed in feeds:
            ref(torch.as_tensor(next(iter(feed.values()))))
    ref.eval()


def make_model(name: str, size: int, bn_feeds: List[Dict[str, Any]]) -> trtnn.Module:
    if name == "yolov8n":
        model = trtnn.models.yolov8("n", nc=3)
        model.load_state_dict(trtnn.load_checkpoint(os.path.join(SHARED, "data", "yolov8n_shapes.pt")))
        return model
    torch.manual_seed(0)
    ref = reference(name)
    reestimate_bn(ref, bn_feeds)
    model = trtnn.models.get(name)()
    model.load_state_dict(ref.state_dict())
    return model


def plan_parts(plan: bytes) -> Dict[str, float]:
    """MB of CUDA source text (JIT kernels), of graph description text, and of the rest (weights, binary data);
    the number of JIT kernels."""
    source = graph = 0
    kernels = 0
    for m in re.finditer(rb"[\t\n\r\x20-\x7e]{64,}", plan):
        text = m.group()
        if b"__device__" in text or b"__global__" in text or b"asm volatile" in text or b"#include" in text:
            source += len(text)
            kernels += text.count(b"__global__")
        elif b"tensor={" in text or b"region" in text or b"header {" in text:
            graph += len(text)
    return {"source": source / 1e6, "graph": graph / 1e6, "rest": (len(plan) - source - graph) / 1e6,
            "kernels": kernels}


def sqnr_db(ref: List[torch.Tensor], got: List[torch.Tensor]) -> float:
    signal = sum(float((r.double() ** 2).sum()) for r in ref)
    noise = sum(float(((r.double() - g.double()) ** 2).sum()) for r, g in zip(ref, got))
    return float("inf") if noise == 0 else 10 * torch.log10(torch.tensor(signal / noise)).item()


def cpu_seconds(fn) -> Tuple[Any, float]:
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def map_rows() -> Dict[str, str]:
    """dtype label -> mAP50-95 of the real yolov8n (the validator protocol: 352, multi-label NMS) on all 300 val
    images, from the eval_shapes results files (files of fewer images are skipped)."""
    out = {}
    for name in sorted(f for f in os.listdir(RESULTS) if f.startswith("eval_shapes") and f.endswith(".md")):
        with open(os.path.join(RESULTS, name)) as f:
            lines = f.read().splitlines()
        if not lines or " on 300 " not in lines[0]:
            continue
        for line in lines:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 4 and cells[1] == "352" and cells[2] == "multi-label (val)":
                out[cells[0]] = cells[3]
    return out


def bench(name: str, size: int, args: argparse.Namespace, maps: Dict[str, str]) -> Tuple[list, list]:
    root = shapes_dataset()
    train, val = (os.path.join(root, "images", s) for s in ("train", "val"))
    bn_feeds = list(image_data(train, name, size, 1, limit=args.bn_images)) if name != "yolov8n" else []
    model = make_model(name, size, bn_feeds)
    spec = trtnn.models.spec(name)
    inputs = [trtnn.Input(spec.input_name, (1, 3, size, size))]
    calib = list(image_data(train, name, size, 1, limit=args.calib_images))
    test = list(image_data(val, name, size, 1, limit=args.sqnr_images))
    fp32 = Executor(trtnn.define(model, inputs, dtype="fp32"))
    fp32(calib[0])  # warm-up
    _, forward = cpu_seconds(lambda: [fp32(f) for f in calib])
    cal, calibration = cpu_seconds(lambda: trtnn.quant.calibrate(model, inputs, calib, method=args.method,
                                                                 progress=False))
    n = len(calib)
    cal_row = [name, f"{size}x{size}", n, f"{forward / n * 1e3:.0f}", f"{calibration / n * 1e3:.0f}",
               f"{calibration / forward:.2f}", "yes" if calibration <= 1.3 * forward else "no"]
    want = [fp32(f) for f in test]
    rows, fp32_mb = [], None
    variants = [(d, d, {}) for d in DTYPES]
    dfl = [path for path, m in model.named_modules() if type(m).__name__ == "DFL"]  # YOLO heads with a DFL
    if dfl:
        variants[2:] = [(d, d, dict(exclude=dfl)) for d in ("int8", "fp8")] + [("int8 (DFL quantized)", "int8", {})]
    for label, dtype, kw in variants:
        quant = dict(calibration=cal, **kw) if dtype in ("int8", "fp8") else {}
        engine = trtnn.build(model, inputs, dtype=dtype, **quant)
        plan = bytes(engine.plan)
        parts = plan_parts(plan)
        fp32_mb = fp32_mb or len(plan) / 1e6
        ex = Executor(trtnn.define(model, inputs, dtype=dtype, output_dtype="fp32", **quant))
        got = [ex(f) for f in test]
        sqnr = ", ".join(f"{k} {sqnr_db([w[k] for w in want], [g[k] for g in got]):.1f}" for k in want[0])
        key = dtype if dtype in ("fp32", "fp16") else f"{dtype} ({args.method}{'' if kw else ', DFL quantized'})"
        rows.append([name, label, f"{len(plan) / 1e6:.2f}", f"{len(plan) / 1e6 / fp32_mb:.3f}",
                     f"{parts['rest']:.2f}", f"{parts['source']:.2f} ({parts['kernels']})", f"{parts['graph']:.2f}",
                     f"{engine.build_seconds:.1f}", sqnr, maps.get(key, "-") if name == "yolov8n" else "-"])
        print(*rows[-1], sep=" | ", flush=True)
    return rows, [cal_row]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    ap.add_argument("--method", default="percentile", help="calibration method for the INT8/FP8 rows")
    ap.add_argument("--calib-images", type=int, default=8, help="train images to calibrate on (batch 1)")
    ap.add_argument("--sqnr-images", type=int, default=2, help="val images the SQNR is measured on")
    ap.add_argument("--bn-images", type=int, default=16, help="images BatchNorm statistics are re-estimated on")
    ap.add_argument("--unet-size", type=int, default=320)
    ap.add_argument("--results", default="quant", help="results file name: parallel runs write separate files")
    args = ap.parse_args()
    sizes = {"yolov8n": 320, "yolov8s": 640, "unet": args.unet_size, "centernet_res18": 512, "centernet_dla34": 512}
    maps = map_rows()
    rows, cal_rows = [], []
    for name in args.models:  # the results file is rewritten after each model: a long run keeps what it measured
        r, c = bench(name, sizes[name], args, maps)
        rows += r
        cal_rows += c
        print(*c[0], sep=" | ", flush=True)
        write(rows, cal_rows, args)


def write(rows: list, cal_rows: list, args: argparse.Namespace) -> None:
    from common import table

    cal_table = table(["model", "input", "images", "fp32 forward CPU ms/img", "calibration CPU ms/img", "ratio",
                       "<= 1.3x"], cal_rows)
    report(args.results, "INT8/FP8 vs fp32/fp16 per model: TensorRT-RTX plans, calibration cost, SQNR on the CPU",
           ["model", "dtype", "plan MB", "x fp32", "weights+binary MB", "JIT CUDA source MB (kernels)",
            "graph text MB", "build s", "SQNR dB vs fp32 per output", "mAP50-95"], rows,
           notes=f"Batch 1. INT8/FP8: calibrated ({args.method}) on {args.calib_images} shapes train images, Q/DQ "
                 "placed by trtnn, the rest fp16; YOLO rows keep the DFL convolution unquantized except the 'DFL "
                 f"quantized' row. SQNR: 10 log10(sum ref^2 / sum (ref - x)^2) over {args.sqnr_images} shapes val "
                 "images, each raw output, CPU executor (fp16 computed in fp16, Q/DQ as TensorRT specifies). mAP50-95: "
                 "yolov8n's end-to-end engine on 300 val images (benchmarks/results/eval_shapes*.md, multi-label NMS, "
                 "calibrated on 256 train images). yolov8s, UNet, CenterNet: random conv weights, BatchNorm "
                 f"statistics re-estimated on {args.bn_images} images. Plan bytes: see benchmarks/study_int8_plan.py."
                 f"\n\nCalibration cost (CPU seconds, process time, all threads), {args.method}:\n\n{cal_table}")


if __name__ == "__main__":
    main()
