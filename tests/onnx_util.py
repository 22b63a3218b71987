"""Test helper: export a torch module to ONNX and parse it with TensorRT's OnnxParser (NVIDIA's own mapping)."""
from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from typing import Any, List, Sequence

import torch

from trtnn import backend


@dataclass
class ParsedNetwork:
    """A parsed network plus the objects that own its weights (the parser must outlive the network's use)."""
    network: Any
    parser: Any
    builder: Any
    onnx_bytes: bytes
    input_names: List[str] = field(default_factory=list)

    def layer_kinds(self) -> List[str]:
        return [self.network.get_layer(i).type.name for i in range(self.network.num_layers)]


def export_onnx(model: torch.nn.Module, args: Sequence[torch.Tensor], opset: int = 17, dynamic_axes=None) -> bytes:
    """ONNX bytes of `model(*args)`: the TorchScript exporter (offline, fast), the dynamo one if it is gone."""
    names = [f"in{i}" for i in range(len(args))]
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, tuple(args), buf, dynamo=False, opset_version=opset, input_names=names,
                              dynamic_axes=dynamic_axes, do_constant_folding=True)
            return buf.getvalue()
        except TypeError:  # no `dynamo` keyword / TorchScript exporter removed
            prog = torch.onnx.export(model, tuple(args), dynamo=True, opset_version=max(opset, 18),
                                     input_names=names)
            return prog.model_proto.SerializeToString()


def parse_onnx(onnx_bytes: bytes) -> ParsedNetwork:
    """Parse ONNX bytes into a strongly typed TensorRT network."""
    trt = backend.get()
    builder = trt.Builder(backend.logger())
    network = builder.create_network(1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    parser = trt.OnnxParser(network, backend.logger())
    if not parser.parse(onnx_bytes):
        errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
        raise RuntimeError("OnnxParser failed: " + "; ".join(errors))
    names = [network.get_input(i).name for i in range(network.num_inputs)]
    return ParsedNetwork(network, parser, builder, onnx_bytes, names)


def torch_to_trt(model: torch.nn.Module, args: Sequence[torch.Tensor], opset: int = 17, dynamic_axes=None):
    """Export `model` to ONNX and parse it: NVIDIA's layer mapping of the torch ops."""
    return parse_onnx(export_onnx(model.eval(), args, opset, dynamic_axes))
