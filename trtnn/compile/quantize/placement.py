"""Where Q/DQ goes in an INT8/FP8 network: the layers TensorRT runs quantized, and nothing that breaks a fusion.

`Quantizer` is attached to a build context before the forward pass (trtnn.define does it) and places Q/DQ when
the forward pass ends, on the finished network, so every tensor already has its final name:
- convolutions with constant weights: Q/DQ on the input activation (per tensor) and the kernel as DQ(per-channel
  quantized weights) made from the kernel AFTER BatchNorm folding (trtnn.graph.fold's `kernel_quantizer`);
- deconvolutions (groups=1) and matrix multiplies / linear layers likewise (a constant operand per channel, an
  activation operand per tensor);
- both inputs of a residual add (elementwise SUM of two activations of one shape, one of them a convolution's
  output, possibly through its activation: the add TensorRT fuses into that convolution);
- concatenations (and max pooling, which passes values through) share one scale over their inputs and output (the
  max amax), and a concatenation whose output is quantized gets Q/DQ on each input, so it runs in INT8.
Nothing is placed on a convolution's output before its activation. `exclude` (module path prefixes, module class
names or TensorRT layer types) and modules kept in a higher precision stay unquantized.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
import torch

from ... import dtypes
from ...errors import ConfigError
from ...graph.fold import ConvRecord, final_kernel
from ...reference import control
from ...reference.common import read_node
from .qdq import add_qdq, add_weight_dq, weight_amax
from .ranges import Ranges, checked_amax
from .selection import module_path, resolve_paths, under

log = logging.getLogger("trtnn")
_PASS_THROUGH = ("CAST", "IDENTITY")  # amax is looked up through these (e.g. the input cast to fp16)


class Quantizer:
    """Places Q/DQ in one build context's network (see the module docstring). `quantized` lists the layers whose
    inputs were quantized; `missing` the tensors that had no amax (left in float)."""

    def __init__(self, ctx: Any, fmt: torch.dtype, ranges: Ranges, exclude: Sequence[str] = (),
                 skip_paths: Sequence[str] = (), skip_layers: Sequence[str] = (), scope: Optional[str] = None) -> None:
        self.ctx, self.fmt, self.ranges = ctx, fmt, ranges
        self.scope = scope  # a module path: only its layers are quantized (an end-to-end wrapper's raw model)
        paths, self.exclude_types = resolve_paths(ctx, exclude, "exclude", layer_types=True)
        self.skip_paths = paths + list(skip_paths)
        self.skip_layers = set(skip_layers)  # layer names (an INT8 policy's kept layers)
        self.quantized: List[str] = []
        self.missing: List[str] = []
        self._convs: Set[str] = set()  # convolution layers whose kernel became a DQ tensor
        self._dq: Dict[Tuple[str, Any], Any] = {}  # (tensor name, dtype) -> its DQ output
        self._producer: Dict[str, Tuple[str, Any]] = {}  # tensor name -> (kind, layer) of the forward pass
        self._layers: Optional[List[Tuple[str, Any]]] = None  # (kind, typed layer)
        self._in_regions: Set[str] = set()  # layers inside loops and conditionals
        self._group: Dict[str, float] = {}  # tensor name -> the amax its concat / pooling group shares
        ctx.folder.kernel_quantizer = self.quantize_kernel

    # ---- convolution kernels (called by Folder.finalize) --------------------------------------------------------
    def _prepare(self) -> List[Tuple[str, Any]]:
        """The forward pass's (kind, typed layer)s, with the producer table and the shared concat scales made once."""
        if self._layers is None:
            net = self.ctx.network
            nodes = [read_node(net.get_layer(i), i) for i in range(net.num_layers)]
            self._layers = [(n.kind, n.layer) for n in nodes]
            self._in_regions = {m.name for r in control.group(nodes) if isinstance(r, control.Region) for m in r.members}
            for kind, layer in self._layers:
                for j in range(layer.num_outputs):
                    self._producer[layer.get_output(j).name] = (kind, layer)
            self._share_scales(self._layers)
        return self._layers

    def quantize_kernel(self, rec: ConvRecord) -> bool:
        self._prepare()
        layer = rec.layer
        if not self._wanted("CONVOLUTION", layer) or self._input_amax(layer, 0) is None:
            return False
        kernel = final_kernel(rec, torch.float32)
        amax = self.ranges.weight_amax.get(module_path(layer.name))
        if amax is None:
            amax = weight_amax(kernel)
        elif rec.folded:  # QAT ranges are of the unfolded kernel: the folded one is scaled per channel
            amax = amax.double() * rec.scale.abs()
        layer.set_input(1, add_weight_dq(self.ctx, rec.kernel_layer, kernel, amax, self.fmt, rec.dtype, 0, layer.name))
        self._convs.add(layer.name)
        return True

    # ---- activations and the remaining weights (after Folder.finalize) ------------------------------------------
    def place(self) -> None:
        layers = self._prepare()
        for kind, layer in layers:
            if kind == "CONVOLUTION" and layer.name in self._convs:
                self._quantize_input(layer, 0)
            elif not self._wanted(kind, layer):
                continue
            elif kind == "DECONVOLUTION" and layer.num_groups == 1:
                self._deconvolution(layer)
            elif kind == "MATRIX_MULTIPLY":
                self._matmul(layer)
            elif kind == "ELEMENTWISE" and self._residual_add(layer):
                self._quantize_input(layer, 0)
                self._quantize_input(layer, 1)
        quantized = {name for name, _ in self._dq}
        for kind, layer in layers:  # after the consumers: a concat whose output got Q/DQ runs in INT8
            if kind == "CONCATENATION" and self._wanted(kind, layer) and layer.get_output(0).name in quantized:
                for j in range(layer.num_inputs):
                    self._quantize_input(layer, j)
        if self.missing:
            log.warning("no amax for %d tensor(s), left unquantized: %s", len(self.missing), self.missing[:10])
        if not self.quantized and self.missing:
            have = list(self.ranges.amax)[:6]
            raise ConfigError(f"calibration has no amax for any tensor that would be quantized (e.g. "
                              f"{self.missing[:6]}); it has {len(self.ranges.amax)} entries, e.g. {have}")

    def _wanted(self, kind: str, layer: Any) -> bool:
        """In scope, not excluded, not in a kept module, not inside a loop or conditional (Q/DQ would be added
        outside it)."""
        path = module_path(layer.name)
        return ((self.scope is None or under(path, [self.scope])) and kind not in self.exclude_types
                and not under(path, self.skip_paths)
                and layer.name not in self._in_regions and layer.name not in self.skip_layers)

    def _residual_add(self, layer: Any) -> bool:
        if layer.op != self.ctx.trt.ElementWiseOperation.SUM:
            return False
        a, b = layer.get_input(0), layer.get_input(1)
        return (not self._is_constant(a) and not self._is_constant(b) and a.dtype == b.dtype
                and tuple(a.shape) == tuple(b.shape) and self._floating(a)
                and (self._from_conv(a.name) or self._from_conv(b.name)))

    def _from_conv(self, name: str, depth: int = 3) -> bool:
        """Is `name` a convolution's output, possibly through its pointwise activation (ReLU..., x * sigmoid(x))?
        An add TensorRT can fuse into that convolution."""
        kind, layer = self._producer.get(name, ("", None))
        if kind == "CONVOLUTION":
            return True
        if depth == 0 or layer is None:
            return False
        if kind == "ACTIVATION":
            return self._from_conv(layer.get_input(0).name, depth - 1)
        if kind == "ELEMENTWISE" and layer.op == self.ctx.trt.ElementWiseOperation.PROD:  # SiLU: x * sigmoid(x)
            x, gate = layer.get_input(0).name, layer.get_input(1).name
            gk, gl = self._producer.get(gate, ("", None))
            return gk == "ACTIVATION" and gl.get_input(0).name == x and self._from_conv(x, depth - 1)
        return False

    def _deconvolution(self, layer: Any) -> None:
        weight = self._constant_value(layer.get_input(1))
        if weight is None or self._input_amax(layer, 0) is None:
            return
        self._quantize_weight(layer, weight, 1)  # kernel (in, out, kH, kW): per output channel
        self._quantize_input(layer, 0)

    def _matmul(self, layer: Any) -> None:
        if not self._floating(layer.get_input(0)) or self._input_amax(layer, 0) is None:
            return
        weight = self._constant_value(layer.get_input(1))
        if weight is not None:  # a linear layer: per output channel
            self._quantize_weight(layer, weight, weight.dim() - (
                2 if layer.op1 == self.ctx.trt.MatrixOperation.TRANSPOSE else 1))
        elif self._input_amax(layer, 1) is not None:
            self._quantize_input(layer, 1)
        else:
            return
        self._quantize_input(layer, 0)

    def _quantize_weight(self, layer: Any, weight: torch.Tensor, axis: int) -> None:
        amax = self.ranges.weight_amax.get(module_path(layer.name))
        amax = weight_amax(weight, axis) if amax is None else amax
        const = self._producer[layer.get_input(1).name][1]
        dq = add_weight_dq(self.ctx, const, weight, amax, self.fmt, self._dtype(layer.get_input(1)), axis, layer.name)
        layer.set_input(1, dq)

    # ---- helpers ------------------------------------------------------------------------------------------------
    def _quantize_input(self, layer: Any, index: int) -> None:
        t = layer.get_input(index)
        amax = self._input_amax(layer, index)
        if amax is None:
            return
        key = (t.name, t.dtype)
        if key not in self._dq:
            self._dq[key] = add_qdq(self.ctx, t, amax, self.fmt, t.name)
        layer.set_input(index, self._dq[key])
        if layer.name not in self.quantized:
            self.quantized.append(layer.name)

    def _input_amax(self, layer: Any, index: int) -> Optional[float]:
        t = layer.get_input(index)
        if t is None or not self._floating(t):
            return None
        if index == 0:
            qat = self.ranges.amax.get(module_path(layer.name) + ":input")
            if qat is not None:
                return qat
        if t.name in self._group:
            return checked_amax(t.name, self._group[t.name], self._dtype(t))
        source = self._source(t.name)
        if source not in self.ranges.amax and source not in self.missing:
            self.missing.append(source)
        amax = self.ranges.amax.get(source)
        return None if amax is None else checked_amax(source, amax, self._dtype(t))

    def _source(self, name: str) -> str:
        """The tensor whose amax `name` has: itself, or what a chain of casts / identities started from."""
        while name not in self.ranges.amax:
            kind, layer = self._producer.get(name, ("", None))
            if kind not in _PASS_THROUGH:
                break
            name = layer.get_input(0).name
        return name

    def _share_scales(self, layers: List[Tuple[str, Any]]) -> None:
        """One amax (the max) per group of tensors joined by concatenations and max pooling."""
        parent: Dict[str, str] = {}

        def root(n: str) -> str:
            while parent.get(n, n) != n:
                n = parent[n]
            return n

        for kind, layer in layers:
            joins = kind == "CONCATENATION" or (kind == "POOLING" and layer.type == self.ctx.trt.PoolingType.MAX)
            if joins and self._wanted(kind, layer):
                names = [layer.get_output(0).name] + [layer.get_input(j).name for j in range(layer.num_inputs)]
                for n in names[1:]:
                    parent[root(n)] = root(names[0])
        groups: Dict[str, List[float]] = {}
        for n in parent:
            amax = self.ranges.amax.get(self._source(n))
            if amax is not None:
                groups.setdefault(root(n), []).append(amax)
        for n in parent:
            if root(n) in groups:
                self._group[n] = max(groups[root(n)])

    def _is_constant(self, t: Any) -> bool:
        return self._producer.get(t.name, ("", None))[0] == "CONSTANT"

    def _constant_value(self, t: Any) -> Optional[torch.Tensor]:
        if not self._is_constant(t):
            return None
        layer = self._producer[t.name][1]
        return torch.from_numpy(np.array(layer.weights)).float().reshape(tuple(layer.shape))

    def _floating(self, t: Any) -> bool:
        return self._dtype(t).is_floating_point and self._dtype(t).itemsize >= 2

    def _dtype(self, t: Any) -> torch.dtype:
        return dtypes.to_torch(t.dtype)
