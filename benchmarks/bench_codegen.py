"""trtnn codegen on a ResNet-50-like and a ViT-B/16-like model: codegen time, then TensorRT layer count and builder
time of the generated trtnn network against torch.onnx.export + TensorRT-RTX's OnnxParser (same builder settings).

    python benchmarks/bench_codegen.py [--models resnet50,vitb16] [--no-build] [--no-write]

Models: tests/corpus/resnet.py with layers (3, 4, 6, 3), width 64 (ResNet-50's shapes) and tests/corpus/vit.py
with patch 16, dim 768, depth 12, 12 heads (ViT-B/16's shapes), random weights, 1x3x224x224. The generated code is
checked first (state_dict loads strictly, CPU executor vs torch). ONNX: the TorchScript exporter, opset 17, constant
folding (tests/onnx_util.py). Prints the table and writes benchmarks/results/codegen.md.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), os.path.join(os.path.dirname(HERE), "tests"), HERE]

MODELS = {
    "resnet50": ("ResNet-50-like", "resnet", dict(layers=(3, 4, 6, 3), width=64, size=224)),
    "vitb16": ("ViT-B/16-like", "vit", dict(size=224, patch=16, dim=768, depth=12, heads=12, num_classes=1000)),
}


def _build_seconds(builder, network) -> float:
    config = builder.create_builder_config()
    t0 = time.perf_counter()
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise RuntimeError("TensorRT could not build the network")
    return time.perf_counter() - t0


def measure(key: str, build: bool) -> list:
    import torch

    from onnx_util import export_onnx, parse_onnx
    from trtnn.codegen import generate_code, round_trip

    title, module, kw = MODELS[key]
    generate_code(*importlib.import_module("corpus.unet").make(size=16))  # warm-up: fx's lazy imports
    torch.manual_seed(0)
    model, inputs = importlib.import_module(f"corpus.{module}").make(**kw)
    model.eval()
    t0 = time.perf_counter()
    code = generate_code(model, inputs)
    codegen_s = time.perf_counter() - t0
    checked = round_trip(code.source, model, inputs, build=False)
    net = checked.network
    trtnn_layers = net.network.num_layers
    trtnn_build = _build_seconds(net.ctx.builder, net.network) if build else float("nan")
    t0 = time.perf_counter()
    torch.backends.mha.set_fastpath_enabled(False)  # the fused MHA kernel has no ONNX export
    with torch.no_grad():
        parsed = parse_onnx(export_onnx(model, inputs))
    onnx_s = time.perf_counter() - t0
    onnx_layers = parsed.network.num_layers
    onnx_build = _build_seconds(parsed.builder, parsed.network) if build else float("nan")
    lines = code.source.count("\n")
    return [title, f"{codegen_s:.2f}", f"{lines} / {len(code.classes)}", f"{checked.max_rel_err:.1e}",
            trtnn_layers, onnx_layers, f"{onnx_s:.2f}", f"{trtnn_build:.1f}", f"{onnx_build:.1f}"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--no-build", action="store_true", help="skip the engine builds (layer counts only)")
    ap.add_argument("--no-write", action="store_true")
    args = ap.parse_args()
    rows = [measure(k, not args.no_build) for k in args.models.split(",")]
    headers = ["model", "codegen s", "lines / classes", "rel err vs torch", "trtnn layers", "ONNX layers",
               "export+parse s", "trtnn build s", "ONNX build s"]
    notes = ("codegen s: trtnn.codegen.generate_code (one run of the model on the CPU records every "
             "module's inputs and outputs, then each module is traced and emitted). The machine was shared and busy: "
             "times are indicative. rel err: generated code on the CPU executor vs "
             "torch, fp32. Layers: network layers before the builder's fusions (trtnn: trtnn.define of the "
             "generated code; ONNX: torch.onnx.export (TorchScript exporter, opset 17) + OnnxParser). Build: "
             "build_serialized_network with the default builder config, TensorRT-RTX on the CPU.")
    if args.no_write:
        from common import table

        print(table(headers, rows))
    else:
        from common import report

        report("codegen", "trtnn codegen: generated network vs ONNX (random weights, 1x3x224x224, fp32)", headers,
               rows, notes)


if __name__ == "__main__":
    main()
