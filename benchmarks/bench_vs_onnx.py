"""Checkpoint -> TensorRT plan: trtnn against torch.onnx.export + TensorRT's OnnxParser, time and peak memory.

    python benchmarks/bench_vs_onnx.py [--rounds 2] [--exporter torchscript|dynamo] [--cases yolov8s,yolov8s-ul,unet]
                                       [--dtypes fp32,fp16] [--no-write]

Targets (issue): trtnn takes at most 0.5x the time and at most 0.7x the peak memory of the ONNX path, for YOLOv8s
and UNet, same machine, same builder settings. Prints the table and writes benchmarks/results/vs_onnx.md.

Checkpoints are made first (not measured) from the faithful PyTorch reference models in tests/refmodels, with
random weights and randomized BatchNorm statistics:
  * yolov8s     torch.save(model.state_dict()), fp32
  * yolov8s-ul  an ultralytics-style .pt: {'model': DetectionModel.half(), 'ema': None, ...} pickled under
                ultralytics' module names (the reference classes stand in for ultralytics' own)
  * unet        torch.save(model.state_dict()) of milesial UNet(3, 2, bilinear=False), fp32
Each (case, dtype, path) runs in a fresh `python` subprocess (this file with --child): imports first, unmeasured,
then the measured work; the child reports wall-clock phases and its peak RSS (getrusage ru_maxrss).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TESTS = os.path.join(ROOT, "tests")
SHAPE = (1, 3, 640, 640)  # YOLOv8s and UNet alike
CASES = {  # name -> (model, checkpoint file, checkpoint kind)
    "yolov8s": ("yolov8s", "yolov8s_state_dict.pt", "state_dict"),
    "yolov8s-ul": ("yolov8s", "yolov8s_ultralytics.pt", "ultralytics"),
    "unet": ("unet", "unet_state_dict.pt", "state_dict"),
}
TIME_TARGET, MEM_TARGET = 0.5, 0.7

# ultralytics 8.x module of each reference class used by YOLOv8 (the names a real yolov8s.pt pickles).
UL_MODULES = {
    "ultralytics.nn.modules.conv": ("Conv", "Concat"),
    "ultralytics.nn.modules.block": ("C2f", "Bottleneck", "SPPF", "DFL"),
    "ultralytics.nn.modules.head": ("Detect",),
    "ultralytics.nn.tasks": ("DetectionModel",),
}


def _install_fake_ultralytics(rename: bool) -> None:
    """Make `ultralytics.*` importable with tests/refmodels' classes (as if ultralytics were installed).

    rename=True also sets the classes' __module__ so that torch.save pickles them under ultralytics' names."""
    from refmodels import yolo

    for mod in ("ultralytics", "ultralytics.nn", "ultralytics.nn.modules"):
        sys.modules.setdefault(mod, types.ModuleType(mod))
    for mod, names in UL_MODULES.items():
        m = sys.modules.setdefault(mod, types.ModuleType(mod))
        for n in names:
            cls = getattr(yolo, n)
            setattr(m, n, cls)
            if rename:
                cls.__module__ = mod


# --------------------------------------------------------------------------- checkpoints (unmeasured)

def make_checkpoints(tmp: str) -> None:
    sys.path.insert(0, TESTS)
    import torch

    from refmodels import randomize_bn, unet, yolov8

    torch.manual_seed(0)
    y = randomize_bn(yolov8("s"))
    torch.save(y.state_dict(), os.path.join(tmp, CASES["yolov8s"][1]))
    _install_fake_ultralytics(rename=True)
    ckpt = {"date": "2024-01-01T00:00:00", "version": "8.1.0", "license": "AGPL-3.0", "model": y.half(), "ema": None,
            "optimizer": None, "updates": None, "epoch": -1,
            "train_args": {"task": "detect", "model": "yolov8s.yaml", "imgsz": 640, "data": "coco.yaml"}}
    torch.save(ckpt, os.path.join(tmp, CASES["yolov8s-ul"][1]))
    u = randomize_bn(unet(3, 2, bilinear=False))
    torch.save(u.state_dict(), os.path.join(tmp, CASES["unet"][1]))


# --------------------------------------------------------------------------- child: one measured path

def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _maxrss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


def child_trtnn(case: str, dtype: str, ckpt: str, plan_path: str) -> dict:
    # -- imports (not measured) --
    import trtnn
    import trtnn.checkpoint
    import trtnn.models

    trtnn.backend.get()  # imports tensorrt_rtx
    base = {"rss_after_import_kb": _rss_kb(), "maxrss_after_import_kb": _maxrss_kb()}
    gc.collect()
    # -- measured --
    t0 = time.perf_counter()
    state = trtnn.checkpoint.load_checkpoint(ckpt)
    t1 = time.perf_counter()
    marks = [("load", _rss_kb(), _maxrss_kb())]
    model = trtnn.models.get(CASES[case][0])()
    model.load_state_dict(state, strict=True)
    # I/O in the compute dtype, like the ONNX network of a .half() model (fp16 in, fp16 out)
    net = trtnn.define(model, [trtnn.Input("images", SHAPE, dtype=dtype)], dtype=dtype)
    t2 = time.perf_counter()
    marks.append(("define", _rss_kb(), _maxrss_kb()))
    engine = trtnn.build_network(net, progress=False)
    engine.save(plan_path)
    t3 = time.perf_counter()
    marks.append(("build", _rss_kb(), _maxrss_kb()))
    return {**base, "load": t1 - t0, "define": t2 - t1, "build": t3 - t2, "total": t3 - t0,
            "layers": net.network.num_layers, "plan_bytes": engine.nbytes, "marks": marks}


def child_onnx(case: str, dtype: str, ckpt: str, plan_path: str, exporter: str) -> dict:
    # -- imports (not measured): what an export + build script imports --
    import onnx  # noqa: F401  (the exporters import it anyway)
    import tensorrt_rtx as trt
    import torch
    import torch.onnx  # noqa: F401

    sys.path.insert(0, TESTS)
    from refmodels import unet, yolov8

    if CASES[case][2] == "ultralytics":
        _install_fake_ultralytics(rename=False)  # stands for `import ultralytics`
    base = {"rss_after_import_kb": _rss_kb(), "maxrss_after_import_kb": _maxrss_kb()}
    gc.collect()
    onnx_path = os.path.splitext(plan_path)[0] + ".onnx"
    half = dtype == "fp16"
    # -- measured --
    t0 = time.perf_counter()
    if CASES[case][2] == "ultralytics":  # ultralytics' attempt_load_weights: the pickled module itself
        model = torch.load(ckpt, map_location="cpu", weights_only=False)["model"]
        state = None
    else:
        state = torch.load(ckpt, map_location="cpu")  # weights_only=True (the default)
    t1 = time.perf_counter()
    marks = [("load", _rss_kb(), _maxrss_kb())]
    if state is not None:
        model = yolov8("s") if CASES[case][0] == "yolov8s" else unet(3, 2, bilinear=False)
        model.load_state_dict(state, strict=True)
    model = (model.half() if half else model.float()).eval().requires_grad_(False)
    x = torch.zeros(SHAPE, dtype=torch.float16 if half else torch.float32)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            if exporter == "torchscript":
                torch.onnx.export(model, (x,), onnx_path, dynamo=False, opset_version=17, input_names=["images"],
                                  output_names=["output0"], do_constant_folding=True)
            else:
                torch.onnx.export(model, (x,), onnx_path, dynamo=True, opset_version=18, input_names=["images"],
                                  output_names=["output0"], external_data=False)
        except Exception as e:  # the parent retries with the other exporter
            return {"export_failed": f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:300]}"}
    del model, state, x  # as if export and build were separate processes: the torch model is gone
    gc.collect()
    t2 = time.perf_counter()
    marks.append(("export", _rss_kb(), _maxrss_kb()))
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flag = trt.NetworkDefinitionCreationFlag
    network = builder.create_network(1 << int(flag.STRONGLY_TYPED) if hasattr(flag, "STRONGLY_TYPED") else 0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(onnx_path):
        raise RuntimeError("; ".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
    t3 = time.perf_counter()
    marks.append(("parse", _rss_kb(), _maxrss_kb()))
    config = builder.create_builder_config()  # the defaults, as trtnn.build_network uses them
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("TensorRT build failed")
    with open(plan_path, "wb") as f:
        f.write(memoryview(plan))
    t4 = time.perf_counter()
    marks.append(("build", _rss_kb(), _maxrss_kb()))
    return {**base, "load": t1 - t0, "export": t2 - t1, "parse": t3 - t2, "build": t4 - t3, "total": t4 - t0,
            "layers": network.num_layers, "plan_bytes": plan.nbytes, "onnx_bytes": os.path.getsize(onnx_path), "marks": marks}


def child_main(args: argparse.Namespace) -> None:
    if args.child == "trtnn":
        out = child_trtnn(args.case, args.dtype, args.ckpt, args.plan)
    else:
        out = child_onnx(args.case, args.dtype, args.ckpt, args.plan, args.exporter)
    if "export_failed" in out:
        print("RESULT " + json.dumps(out), flush=True)
        return
    out["maxrss_kb"] = _maxrss_kb()
    out["peak_kb"] = out["maxrss_kb"] - out["rss_after_import_kb"]
    print("RESULT " + json.dumps(out), flush=True)


# --------------------------------------------------------------------------- parent

def run_child(path: str, case: str, dtype: str, ckpt: str, tmp: str, exporter: str) -> dict:
    plan = os.path.join(tmp, f"{case}_{dtype}_{path}.plan")
    cmd = [sys.executable, os.path.abspath(__file__), "--child", path, "--case", case, "--dtype", dtype,
           "--ckpt", ckpt, "--plan", plan, "--exporter", exporter]
    load_before = os.getloadavg()[0]
    p = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")]
    if p.returncode != 0 or not lines:
        raise RuntimeError(f"{path} child for {case}/{dtype} failed ({p.returncode}):\n{p.stdout[-3000:]}\n"
                           f"{p.stderr[-3000:]}")
    out = json.loads(lines[-1][len("RESULT "):])
    out["loadavg"] = (load_before + os.getloadavg()[0]) / 2
    out["exporter"] = exporter
    for f in (plan, os.path.splitext(plan)[0] + ".onnx"):
        if os.path.exists(f):
            os.remove(f)
    return out


def _mb(kb: float) -> str:
    return f"{kb / 1024:.0f}"


def _med(runs, key):
    return statistics.median(r[key] for r in runs)


def _spread(runs, key) -> str:
    vals = [r[key] for r in runs]
    return f"{min(vals):.1f}-{max(vals):.1f}" if len(vals) > 1 else f"{vals[0]:.1f}"


def parent_main(args: argparse.Namespace) -> None:
    cases = [c for c in args.cases.split(",") if c]
    dtypes = [d for d in args.dtypes.split(",") if d]
    results = {(c, d, p): [] for c in cases for d in dtypes for p in ("trtnn", "onnx")}
    exporters, failures = {}, {}  # (case, dtype) -> exporter used by the ONNX path; TorchScript failures
    with tempfile.TemporaryDirectory(prefix="bench_vs_onnx_") as tmp:
        t = time.perf_counter()
        make_checkpoints(tmp)
        print(f"checkpoints made in {time.perf_counter() - t:.1f}s: "
              + ", ".join(f"{CASES[c][1]} {os.path.getsize(os.path.join(tmp, CASES[c][1])) / 1e6:.1f} MB"
                          for c in CASES), flush=True)
        for rnd in range(args.rounds):
            for c in cases:
                for d in dtypes:
                    order = ("trtnn", "onnx") if rnd % 2 == 0 else ("onnx", "trtnn")  # alternate who goes first
                    for p in order:
                        exp = exporters.get((c, d), "torchscript" if args.exporter == "auto" else args.exporter)
                        r = run_child(p, c, d, os.path.join(tmp, CASES[c][1]), tmp, exp)
                        if "export_failed" in r and args.exporter == "auto" and exp == "torchscript":
                            failures[(c, d)] = r["export_failed"]
                            print(f"round {rnd + 1} {c:10s} {d} {p:5s}: TorchScript exporter failed "
                                  f"({r['export_failed']}); using dynamo=True", flush=True)
                            exp = exporters[(c, d)] = "dynamo"
                            r = run_child(p, c, d, os.path.join(tmp, CASES[c][1]), tmp, exp)
                        if "export_failed" in r:
                            raise RuntimeError(f"{c}/{d}: ONNX export failed with {exp}: {r['export_failed']}")
                        results[(c, d, p)].append(r)
                        print(f"round {rnd + 1} {c:10s} {d} {p:5s}: {r['total']:6.1f} s  peak {_mb(r['peak_kb'])} MB "
                              f"(maxrss {_mb(r['maxrss_kb'])} MB)  load avg {r['loadavg']:.1f}  "
                              + " ".join(f"{k}={r[k]:.2f}" for k in ("load", "define", "export", "parse", "build")
                                         if k in r), flush=True)
                        print("    rss/maxrss MB after " + ", ".join(f"{n} {_mb(a)}/{_mb(m)}" for n, a, m in r["marks"]),
                              flush=True)

    rows, detail, loads = [], [], []
    for c in cases:
        for d in dtypes:
            a, b = results[(c, d, "trtnn")], results[(c, d, "onnx")]
            loads += [r["loadavg"] for r in a + b]
            ta, tb, ma, mb = _med(a, "total"), _med(b, "total"), _med(a, "peak_kb"), _med(b, "peak_kb")
            tr, mr = ta / tb, ma / mb
            rows.append([c, d, f"{ta:.1f}", f"{tb:.1f}", f"{tr:.2f}", "yes" if tr <= TIME_TARGET else "NO",
                         _mb(ma), _mb(mb), f"{mr:.2f}", "yes" if mr <= MEM_TARGET else "NO"])
            detail.append([c, d, "trtnn", f"{_med(a, 'load'):.2f}", f"{_med(a, 'define'):.2f}", "-",
                           f"{_med(a, 'build'):.2f}", _spread(a, "total"), _mb(_med(a, "maxrss_kb")),
                           _mb(_med(a, "rss_after_import_kb")), a[0]["layers"]])
            ex = exporters.get((c, d), "torchscript" if args.exporter == "auto" else args.exporter)
            detail.append([c, d, f"ONNX ({ex})", f"{_med(b, 'load'):.2f}", f"{_med(b, 'export'):.2f}",
                           f"{_med(b, 'parse'):.2f}", f"{_med(b, 'build'):.2f}", _spread(b, "total"),
                           _mb(_med(b, "maxrss_kb")), _mb(_med(b, "rss_after_import_kb")), b[0]["layers"]])
    import tensorrt_rtx
    import torch

    sys.path.insert(0, HERE)
    from common import report, table

    exp = ("torch.onnx.export(dynamo=False) (TorchScript exporter, opset 17, do_constant_folding)"
           if args.exporter == "torchscript" else "torch.onnx.export(dynamo=True) (torch.export-based, opset 18)")
    notes = "\n".join([
        f"Medians of {args.rounds} rounds; every (case, dtype, path) ran in its own fresh `python` subprocess, "
        f"trtnn and ONNX alternating which goes first. Input 1x3x640x640 for both models (UNet too, not 572x572). "
        f"Load average during the runs: {min(loads):.1f}-{max(loads):.1f} on {os.cpu_count()} cores "
        f"(other jobs were running on the machine).",
        "",
        "* time: wall clock from the checkpoint file to the plan written to disk, imports excluded (each child "
        "first imports torch, tensorrt_rtx and its path's packages: trtnn / onnx + refmodels, then measures).",
        "* peak MB: child's `getrusage(RUSAGE_SELF).ru_maxrss` at the end minus its RSS (VmRSS) right after the "
        "imports, i.e. the extra resident memory the work needed at its peak; raw ru_maxrss below.",
        "* trtnn: `trtnn.checkpoint.load_checkpoint` -> `trtnn.models.get(name)()` -> `load_state_dict(strict=True)` "
        "-> `trtnn.define(model, [Input('images', (1,3,640,640), dtype)], dtype=dtype)` -> `build_network` -> "
        "`Engine.save`.",
        f"* ONNX: `torch.load` (state_dict: weights_only=True; ultralytics .pt: weights_only=False, the pickled "
        f"module itself, as ultralytics loads it) -> reference torch model from tests/refmodels, load_state_dict -> "
        f"`.float()` or `.half()`, eval, requires_grad_(False) -> {exp} to a file with a zero input of the "
        f"model's dtype -> torch model deleted (as if export and build were separate processes) -> "
        f"`trt.OnnxParser.parse_from_file` into a strongly typed network -> `build_serialized_network` -> plan file.",
        "* fp16: the ONNX model is fp16 throughout (`model.half()` before export, fp16 input, so fp16 I/O); trtnn "
        "gets dtype='fp16' with an fp16 input so both engines have fp16 I/O. Both use a default builder config "
        "(no workspace limit, default optimization level) and a strongly typed network.",
        "* yolov8s-ul: an ultralytics-style checkpoint ({'model': DetectionModel.half(), 'ema': None, ...} pickled "
        "under ultralytics' module names); trtnn reads it without ultralytics, the ONNX path unpickles the module "
        "(the reference classes registered as `ultralytics.*`, standing in for the installed package).",
        "",
        "Phases (medians, seconds) and raw memory (MB):",
        "",
        table(["case", "dtype", "path", "load", "define / export", "parse", "builder + write", "total min-max",
               "ru_maxrss", "RSS after imports", "TRT layers"], detail),
        "",
        f"torch {torch.__version__}, {tensorrt_rtx.__name__} {tensorrt_rtx.__version__}, no GPU (TensorRT-RTX "
        f"builds ahead of time on the CPU).",
    ])
    title = f"Checkpoint -> plan: trtnn vs torch.onnx.export + OnnxParser ({tensorrt_rtx.__name__} " \
            f"{tensorrt_rtx.__version__})"
    headers = ["case", "dtype", "trtnn s", "ONNX s", "time ratio", "<= 0.5", "trtnn peak MB", "ONNX peak MB",
               "mem ratio", "<= 0.7"]
    if args.no_write:
        print(f"# {title}\n\n{table(headers, rows)}\n\n{notes}")
    else:
        report("vs_onnx", title, headers, rows, notes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--exporter", choices=("auto", "torchscript", "dynamo"), default="auto",
                    help="auto: the TorchScript exporter (dynamo=False), dynamo=True where it fails")
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--dtypes", default="fp32,fp16")
    ap.add_argument("--no-write", action="store_true", help="print only, do not write benchmarks/results/vs_onnx.md")
    ap.add_argument("--child", choices=("trtnn", "onnx"), help=argparse.SUPPRESS)
    ap.add_argument("--case", help=argparse.SUPPRESS)
    ap.add_argument("--dtype", help=argparse.SUPPRESS)
    ap.add_argument("--ckpt", help=argparse.SUPPRESS)
    ap.add_argument("--plan", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child_main(args)
    else:
        parent_main(args)


if __name__ == "__main__":
    main()
