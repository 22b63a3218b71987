"""Checkpoint -> TensorRT plan: trtnn against torch.onnx.export + TensorRT's OnnxParser, time and peak memory.

    python benchmarks/bench_vs_onnx.py [--rounds 2] [--exporter both|default|legacy]
                                       [--cases yolov8s,yolov8s-ul,unet] [--dtypes fp32,fp16] [--no-write]

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


class _Steps:
    """Wall-clock time, RSS and ru_maxrss at the end of each measured step."""

    def __init__(self) -> None:
        self.base_rss, self.base_maxrss = _rss_kb(), _maxrss_kb()
        self.t0 = time.perf_counter()
        self.last = self.t0
        self.steps = {}

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = {"s": now - self.last, "rss_kb": _rss_kb(), "maxrss_kb": _maxrss_kb()}
        self.last = now

    def result(self, **extra) -> dict:
        maxrss = _maxrss_kb()
        return {"steps": self.steps, "total": self.last - self.t0, "rss_after_import_kb": self.base_rss,
                "maxrss_after_import_kb": self.base_maxrss, "maxrss_kb": maxrss, "peak_kb": maxrss - self.base_rss,
                **extra}


def child_trtnn(case: str, dtype: str, ckpt: str, plan_path: str) -> dict:
    # -- imports (not measured) --
    import trtnn
    import trtnn.io.checkpoint
    import trtnn.models

    trtnn.backend.get()  # imports tensorrt_rtx
    gc.collect()
    # -- measured --
    st = _Steps()
    state = trtnn.load_checkpoint(ckpt)
    st.mark("load")
    model = trtnn.models.get(CASES[case][0])()
    model.load_state_dict(state, strict=True, assign=True)  # the checkpoint's tensors become the weights (no copy)
    del state
    st.mark("model")
    # I/O in the compute dtype, like the ONNX network of a .half() model (fp16 in, fp16 out)
    net = trtnn.define(model, [trtnn.Input("images", SHAPE, dtype=dtype)], dtype=dtype)
    del model  # as `trtnn build` does: the network holds what the builder needs (ONNX path: torch model deleted)
    layers = net.network.num_layers
    st.mark("network")
    engine = trtnn.build_network(net, progress=False)
    engine.save(plan_path)
    st.mark("build")
    return st.result(layers=layers, plan_bytes=engine.nbytes)


def child_onnx(case: str, dtype: str, ckpt: str, plan_path: str, exporter: str) -> dict:
    # -- imports (not measured): what an export + build script imports --
    import onnx  # noqa: F401  (the exporters import it anyway)
    import tensorrt_rtx as trt
    import torch
    import torch.onnx  # noqa: F401

    sys.path.insert(0, TESTS)
    from refmodels import unet, yolov8

    ultralytics = CASES[case][2] == "ultralytics"
    if ultralytics:
        _install_fake_ultralytics(rename=False)  # stands for `import ultralytics`
    onnx_path = os.path.splitext(plan_path)[0] + ".onnx"
    half = dtype == "fp16"
    gc.collect()
    # -- measured --
    st = _Steps()
    if ultralytics:  # as ultralytics' attempt_load_weights: the pickled module itself
        model, state = torch.load(ckpt, map_location="cpu", weights_only=False)["model"], None
    else:
        state = torch.load(ckpt, map_location="cpu")  # weights_only=True (the default)
    st.mark("load")
    if state is not None:
        model = yolov8("s") if CASES[case][0] == "yolov8s" else unet(3, 2, bilinear=False)
        model.load_state_dict(state, strict=True)
    model = (model.half() if half else model.float()).eval().requires_grad_(False)
    st.mark("model")
    x = torch.zeros(SHAPE, dtype=torch.float16 if half else torch.float32)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        try:
            if exporter == "legacy":  # the TorchScript exporter, deprecated since torch 2.9
                torch.onnx.export(model, (x,), onnx_path, dynamo=False, opset_version=17, input_names=["images"],
                                  output_names=["output0"], do_constant_folding=True)
            else:  # torch.onnx.export as documented: every other argument at its default (dynamo=True)
                torch.onnx.export(model, (x,), onnx_path, input_names=["images"], output_names=["output0"])
        except Exception as e:  # reported as a failed row
            return {"export_failed": f"{type(e).__name__}: {str(e).strip().splitlines()[-1][:300]}"}
    del model, state, x  # as if export and build were separate processes: the torch model is gone
    gc.collect()
    st.mark("export")
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flag = trt.NetworkDefinitionCreationFlag
    network = builder.create_network(1 << int(flag.STRONGLY_TYPED) if hasattr(flag, "STRONGLY_TYPED") else 0)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(onnx_path):
        raise RuntimeError("; ".join(str(parser.get_error(i)) for i in range(parser.num_errors)))
    st.mark("parse")
    config = builder.create_builder_config()  # the defaults, as trtnn.build_network uses them
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("TensorRT build failed")
    with open(plan_path, "wb") as f:
        f.write(memoryview(plan))
    st.mark("build")
    return st.result(layers=network.num_layers, plan_bytes=plan.nbytes, onnx_bytes=os.path.getsize(onnx_path))


def child_main(args: argparse.Namespace) -> None:
    if args.child == "trtnn":
        out = child_trtnn(args.case, args.dtype, args.ckpt, args.plan)
    else:
        out = child_onnx(args.case, args.dtype, args.ckpt, args.plan, args.exporter)
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


def _med(values) -> float:
    return statistics.median(values)


def _step(runs, name, key):
    return _med([r["steps"][name][key] for r in runs if name in r["steps"]])


def _line(r: dict) -> str:
    base = r["rss_after_import_kb"]
    steps = ", ".join(f"{n} {v['s']:.2f}s/+{_mb(v['rss_kb'] - base)}MB" for n, v in r["steps"].items())
    return (f"{r['total']:6.1f} s  peak +{_mb(r['peak_kb'])} MB (ru_maxrss {_mb(r['maxrss_kb'])} MB)  "
            f"load avg {r['loadavg']:.1f}  [{steps}]")


STEP_NAMES = {"trtnn": ("load", "model", "network", "build"), "onnx": ("load", "model", "export", "parse", "build")}


PATHS = {"trtnn": ("trtnn", None), "default": ("onnx", "default"), "legacy": ("onnx", "legacy")}
PATH_LABEL = {"trtnn": "trtnn", "default": "ONNX (default exporter)", "legacy": "ONNX (legacy exporter)"}


def parent_main(args: argparse.Namespace) -> None:
    cases = [c for c in args.cases.split(",") if c]
    dtypes = [d for d in args.dtypes.split(",") if d]
    exporters = ("default", "legacy") if args.exporter == "both" else (args.exporter,)
    paths = ("trtnn",) + exporters
    results = {(c, d, p): [] for c in cases for d in dtypes for p in paths}
    failures = {}  # (case, dtype, exporter) -> why the export failed
    with tempfile.TemporaryDirectory(prefix="bench_vs_onnx_") as tmp:
        t = time.perf_counter()
        make_checkpoints(tmp)
        sizes = {c: os.path.getsize(os.path.join(tmp, CASES[c][1])) / 1e6 for c in CASES}
        print(f"checkpoints made in {time.perf_counter() - t:.1f}s: "
              + ", ".join(f"{CASES[c][1]} {sizes[c]:.1f} MB" for c in CASES), flush=True)
        for rnd in range(args.rounds):
            for c in cases:
                for d in dtypes:
                    for p in paths if rnd % 2 == 0 else paths[::-1]:  # alternate who goes first
                        if (c, d, p) in failures:
                            continue
                        kind, exp = PATHS[p]
                        r = run_child(kind, c, d, os.path.join(tmp, CASES[c][1]), tmp, exp or "default")
                        if "export_failed" in r:
                            failures[(c, d, p)] = r["export_failed"]
                            print(f"round {rnd + 1} {c:10s} {d} {p:7s}: export failed: {r['export_failed']}",
                                  flush=True)
                            continue
                        results[(c, d, p)].append(r)
                        print(f"round {rnd + 1} {c:10s} {d} {p:7s}: {_line(r)}", flush=True)

    rows, times, mems, loads = [], [], [], []
    for c in cases:
        for d in dtypes:
            a = results[(c, d, "trtnn")]
            for ex in exporters:
                b = results[(c, d, ex)]
                if not b:
                    rows.append([c, d, ex, f"{_med([r['total'] for r in a]):.1f}", "export failed", "-", "-",
                                 _mb(_med([r["peak_kb"] for r in a])), "-", "-", "-"])
                    continue
                ta, tb = _med([r["total"] for r in a]), _med([r["total"] for r in b])
                ma, mb = _med([r["peak_kb"] for r in a]), _med([r["peak_kb"] for r in b])
                tr, mr = ta / tb, ma / mb
                rows.append([c, d, ex, f"{ta:.1f}", f"{tb:.1f}", f"{tr:.2f}", "yes" if tr <= TIME_TARGET else "NO",
                             _mb(ma), _mb(mb), f"{mr:.2f}", "yes" if mr <= MEM_TARGET else "NO"])
            for p in paths:
                runs = results[(c, d, p)]
                if not runs:
                    continue
                loads += [r["loadavg"] for r in runs]
                names = STEP_NAMES[PATHS[p][0]]
                sec = {n: f"{_step(runs, n, 's'):.2f}" for n in names}
                tot = [r["total"] for r in runs]
                times.append([c, d, PATH_LABEL[p], sec["load"], sec["model"], sec.get("network", "-"),
                              sec.get("export", "-"), sec.get("parse", "-"), sec["build"],
                              f"{min(tot):.1f}-{max(tot):.1f}", runs[0]["layers"],
                              f"{runs[0]['plan_bytes'] / 1e6:.1f}"])
                base = _med([r["rss_after_import_kb"] for r in runs])
                grow = {n: f"+{_mb(_step(runs, n, 'rss_kb') - base)}" for n in names}
                peaks = [r["peak_kb"] for r in runs]
                mems.append([c, d, PATH_LABEL[p], _mb(base), grow["load"], grow["model"], grow.get("network", "-"),
                             grow.get("export", "-"), grow.get("parse", "-"),
                             f"+{_mb(_med(peaks))} ({_mb(min(peaks))}-{_mb(max(peaks))})",
                             _mb(_med([r["maxrss_kb"] for r in runs]))])
    import tensorrt_rtx
    import torch

    sys.path.insert(0, HERE)
    from common import report, table

    failed = "; ".join(f"{c} {d} {p}: {m}" for (c, d, p), m in failures.items())
    notes = "\n".join([
        f"Medians of {args.rounds} rounds (min-max shown below). Every (case, dtype, path) ran in its own fresh "
        f"`python` subprocess, trtnn and ONNX alternating which goes first. Input 1x3x640x640 for both models "
        f"(UNet too, not 572x572). Load average during the runs: {min(loads):.1f}-{max(loads):.1f} on "
        f"{os.cpu_count()} cores (other jobs shared the machine, so times are noisy; the peak memory is stable).",
        "",
        "How it is measured:",
        "",
        "* time: wall clock from reading the checkpoint file to the plan written to disk. Imports are excluded: each "
        "child first imports torch, tensorrt_rtx and its path's packages (trtnn; or onnx, torch.onnx and the "
        "reference model code), then measures. Everything TensorRT loads lazily (builder, parser, first-build "
        "initialisation) counts, in both paths.",
        "* peak MB: the child's `resource.getrusage(RUSAGE_SELF).ru_maxrss` at the end minus its RSS (VmRSS) right "
        "after the imports: the extra resident memory the work needed at its peak. Raw ru_maxrss in the last column "
        "below.",
        "* trtnn: `trtnn.load_checkpoint` -> `trtnn.models.get(name)()` + `load_state_dict(strict=True, "
        "assign=True)` -> `trtnn.define(model, [Input('images', (1,3,640,640), dtype)], dtype=dtype)` -> the model "
        "is deleted -> `trtnn.build_network` -> `Engine.save` (what `trtnn build` does, split to time the steps).",
        "* ONNX: `torch.load` (state_dict: weights_only=True; ultralytics .pt: weights_only=False and the pickled "
        "module itself, as ultralytics loads it) -> reference torch model from tests/refmodels + load_state_dict -> "
        "`.float()`/`.half()`, eval, requires_grad_(False) -> `torch.onnx.export` to a file under no_grad with a zero "
        "input of the model's dtype -> the torch model is deleted (as if export and build were separate processes) "
        "-> `trt.OnnxParser.parse_from_file` into a strongly typed network -> `build_serialized_network` -> plan "
        "file. Two exporters: **default** = `torch.onnx.export(model, (x,), path, input_names=..., "
        "output_names=...)` with every other argument at its default, which in torch 2.13 is the torch.export-based "
        "exporter (`dynamo=True`, `optimize=True`, `external_data=True`); this is what the targets are judged "
        "against. **legacy** = the TorchScript exporter (`dynamo=False`, opset 17, do_constant_folding, which also "
        "folds BatchNorm), deprecated since torch 2.9 (torch warns: \"Starting in PyTorch 2.9, the new "
        "torch.export-based ONNX exporter has become the default\"); shown for reference, it is the leaner of the "
        "two."
        + (f" Export failures: {failed}." if failed else ""),
        "* same builder settings: a strongly typed network and a default `create_builder_config()` (no workspace "
        "limit, default optimization level) in both paths.",
        "* fp16: the ONNX model is fp16 throughout (`model.half()` before export, an fp16 input, so fp16 I/O); trtnn "
        "gets `dtype='fp16'` and an fp16 `Input`, so both engines have fp16 I/O.",
        "* checkpoints (made before, not measured; random weights, randomized BatchNorm statistics): yolov8s and unet "
        f"are `torch.save(model.state_dict())` in fp32 ({sizes['yolov8s']:.0f} / {sizes['unet']:.0f} MB); "
        f"yolov8s-ul is an ultralytics-style .pt ({sizes['yolov8s-ul']:.0f} MB): "
        "`{'model': DetectionModel.half(), 'ema': None, ...}` pickled under ultralytics' module names. trtnn reads it "
        "without ultralytics; the ONNX path unpickles the module with the reference classes registered as "
        "`ultralytics.*` (standing in for the installed package).",
        "",
        "Time per step (medians, seconds; network = trtnn.define; model = construct + load_state_dict):",
        "",
        table(["case", "dtype", "path", "load", "model", "network", "export", "parse", "build + write",
               "total min-max", "TRT layers", "plan MB"], times),
        "",
        "Memory: RSS after the imports (MB), RSS growth over it after each step (MB), peak growth (the peak MB "
        "above, median and min-max) and raw ru_maxrss (MB):",
        "",
        table(["case", "dtype", "path", "RSS after imports", "load", "model", "network", "export", "parse",
               "peak", "ru_maxrss"], mems),
        "",
        f"torch {torch.__version__}, {tensorrt_rtx.__name__} {tensorrt_rtx.__version__}, no GPU (TensorRT-RTX "
        f"builds ahead of time on the CPU).",
    ])
    title = f"Checkpoint -> plan: trtnn vs torch.onnx.export + OnnxParser ({tensorrt_rtx.__name__} " \
            f"{tensorrt_rtx.__version__})"
    headers = ["case", "dtype", "ONNX exporter", "trtnn s", "ONNX s", "time ratio", "<= 0.5", "trtnn peak MB",
               "ONNX peak MB", "mem ratio", "<= 0.7"]
    if args.no_write:
        print(f"# {title}\n\n{table(headers, rows)}\n\n{notes}")
    else:
        report("vs_onnx", title, headers, rows, notes)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--exporter", choices=("both", "default", "legacy"), default="both",
                    help="default: torch.onnx.export's defaults (dynamo=True in torch 2.13); legacy: dynamo=False")
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
