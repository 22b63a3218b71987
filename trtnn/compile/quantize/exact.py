"""Q/DQ exactly where a quantization-aware-trained model had its quantizers (QATRanges), so the engine computes the
trained fake-quant network.

- an output site (a tensor, or a module path = that module's output): Q/DQ on the tensor, read by every consumer
  (as a torch fake-quant module's output is); on a network output, the output becomes the DQ (named as before);
- an input site `path:input` (ModelOpt's input quantizers, pooling included): Q/DQ on the inputs that module's
  layers take from outside the module, for those layers only;
- a weight range: the kernel of that module's convolution / deconvolution / matrix multiply as DQ(per-channel
  quantized weights), of the BatchNorm-folded kernel as the range says (`folded_weights`) or scaled per channel
  when the range is of the unfolded kernel and trtnn folds the BatchNorm;
- a `clip` range: a Clip before Q where torch saturates earlier than TensorRT (affine torch.ao ranges).
Concatenation inputs keep their own scales: each input's own Q/DQ, the concatenation in float, the output's Q/DQ
after it (TensorRT requantizes). A site that cannot be placed (no such tensor or module, a BatchNorm folded away,
an excluded module) raises ConfigError with `strict`, else is listed in a warning; `unplaced` holds them.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Set, Tuple

import torch

from ...errors import ConfigError
from ...graph.fold import ConvRecord, final_kernel
from .placement import Quantizer
from .qdq import add_qdq, add_weight_dq
from .ranges import QATRanges, checked_amax
from .selection import module_path, under

log = logging.getLogger("trtnn")


class ExactQuantizer(Quantizer):
    """Places a QATRanges' quantizers (see the module docstring); `unplaced` lists (site, why) it could not place."""

    def __init__(self, ctx: Any, fmt: torch.dtype, ranges: QATRanges, exclude: Any = (), skip_paths: Any = ()) -> None:
        super().__init__(ctx, fmt, ranges, exclude, skip_paths)
        self.qat = ranges
        self.unplaced: List[Tuple[str, str]] = []
        self._weights_done: Set[str] = set()

    def _share_scales(self, layers: Any) -> None:  # concat inputs keep their own scales
        pass

    def quantize_kernel(self, rec: ConvRecord) -> bool:
        self._prepare()
        path = module_path(rec.layer.name)
        amax = self.qat.weight_amax.get(path)
        if amax is None:
            return False
        if not self._wanted("CONVOLUTION", rec.layer):
            self.unplaced.append((f"{path}:weight", "excluded or kept in a higher precision"))
            return False
        if path in self.qat.folded_weights and not rec.folded:
            self.unplaced.append((f"{path}:weight", "the range is of the BatchNorm-folded kernel (a fused ConvBn) but "
                                                    "no BatchNorm was folded into it (define with fold_bn=True)"))
            return False
        kernel = final_kernel(rec, torch.float32)
        amax = _per_channel(amax, kernel.shape[0])
        if rec.folded and path not in self.qat.folded_weights:  # the unfolded kernel's range, scaled as folding does
            amax = amax.double() * rec.scale.abs()
        rec.layer.set_input(1, add_weight_dq(self.ctx, rec.kernel_layer, kernel, amax, self.fmt, rec.dtype, 0,
                                             rec.layer.name))
        self._weights_done.add(path)
        return True

    def place(self) -> None:
        layers = self._prepare()
        consumers = self._consumers(layers)
        for kind, layer in layers:  # deconvolution and matrix-multiply weights
            path = module_path(layer.name)
            if path in self.qat.weight_amax and kind in ("DECONVOLUTION", "MATRIX_MULTIPLY") \
                    and self._constant_value(layer.get_input(1)) is not None:
                if not self._wanted(kind, layer):
                    self.unplaced.append((f"{path}:weight", "excluded or kept in a higher precision"))
                    continue
                weight = self._constant_value(layer.get_input(1))
                axis = 1 if kind == "DECONVOLUTION" else weight.dim() - (
                    2 if layer.op1 == self.ctx.trt.MatrixOperation.TRANSPOSE else 1)
                self._quantize_weight(layer, weight, axis)
                self._weights_done.add(path)
        for path in self.qat.weight_amax:
            if path not in self._weights_done and not any(path == p for p, _ in self.unplaced):
                self.unplaced.append((f"{path}:weight", "no convolution, deconvolution or linear layer of that module"))
        for site, amax in self.qat.amax.items():
            if site.endswith(":input"):
                continue
            tensor, why = self._resolve(site, layers, consumers)
            if tensor is None:
                self.unplaced.append((site, why))
            else:
                self._quantize_tensor(site, tensor, amax, consumers)
        for site, amax in self.qat.amax.items():
            if site.endswith(":input"):
                self._quantize_module_input(site, amax, layers)
        self._report()

    def _quantize_weight(self, layer: Any, weight: torch.Tensor, axis: int) -> None:
        amax = _per_channel(self.qat.weight_amax[module_path(layer.name)], weight.shape[axis])
        const = self._producer[layer.get_input(1).name][1]
        layer.set_input(1, add_weight_dq(self.ctx, const, weight, amax, self.fmt, self._dtype(layer.get_input(1)),
                                         axis, layer.name))

    # ---- sites ----------------------------------------------------------------------------------------------
    def _consumers(self, layers: Any) -> Dict[str, List[Tuple[str, Any, int]]]:
        out: Dict[str, List[Tuple[str, Any, int]]] = {}
        for kind, layer in layers:
            for j in range(layer.num_inputs):
                t = layer.get_input(j)
                if t is not None:
                    out.setdefault(t.name, []).append((kind, layer, j))
        return out

    def _tensor(self, name: str) -> Any:
        if name in self._producer:
            return self._producer[name][1].get_output(
                [self._producer[name][1].get_output(j).name for j in range(self._producer[name][1].num_outputs)]
                .index(name))
        net = self.ctx.network
        for k in range(net.num_inputs):
            if net.get_input(k).name == name:
                return net.get_input(k)
        return None

    def _resolve(self, site: str, layers: Any, consumers: Any) -> Tuple[Any, str]:
        """The tensor an output site names, or (None, why not)."""
        t = self._tensor(site)
        if t is None and site in self.ctx.module_outputs:
            names = self.ctx.module_outputs[site]
            t = self._tensor(names[-1]) if names else None
            folded = self.ctx.folder.folded.get(site)
            if t is None and folded is not None:
                if site not in self.qat.fused_relu and site not in self.qat.folded_weights:
                    return None, (f"the output of '{site}' before its BatchNorm '{folded}', which trtnn folded into "
                                  f"it: define with fold_bn=False to place this quantizer (or fuse Conv+BN in QAT)")
                t = self._tensor(self.ctx.module_outputs.get(folded, [""])[-1])
            if t is not None and site in self.qat.fused_relu:
                users = consumers.get(t.name, [])
                relu = [(k, lay) for k, lay, _ in users
                        if k == "ACTIVATION" and lay.type == self.ctx.trt.ActivationType.RELU]
                if len(users) != 1 or not relu:
                    return None, f"'{site}' is a fused ...ReLU module but its output does not go to one ReLU"
                t = relu[0][1].get_output(0)
        if t is None:
            return None, "no tensor or module of that name in the network"
        if not self._floating(t):
            return None, f"tensor '{t.name}' is not floating"
        kind, layer = self._producer.get(t.name, ("", None))
        if layer is not None and not self._wanted(kind, layer):
            return None, "excluded, kept in a higher precision, or inside a loop / conditional"
        return self._past_casts(t, consumers), ""

    def _past_casts(self, t: Any, consumers: Any) -> Any:
        """A tensor read only by one cast to another floating type (the input cast to fp16): quantize the cast's
        output, next to the layer that computes in INT8."""
        users = consumers.get(t.name, [])
        if len(users) == 1 and users[0][0] == "CAST" and not t.is_network_output \
                and self._floating(users[0][1].get_output(0)):
            return users[0][1].get_output(0)
        return t

    def _quantize_tensor(self, site: str, t: Any, amax: float, consumers: Any) -> None:
        users = list(consumers.get(t.name, []))
        dq = self._qdq(t, checked_amax(t.name, amax, self._dtype(t)), self.qat.clip.get(site), t.name)
        for _, layer, j in users:
            layer.set_input(j, dq)
            if layer.name not in self.quantized:
                self.quantized.append(layer.name)
        if t.is_network_output:  # the trained model's output was quantized: so is the engine's
            name = t.name
            self.ctx.network.unmark_output(t)
            t.name = f"{name}:float"
            dq.name = name
            self.ctx.network.mark_output(dq)
        consumers[dq.name] = users

    def _quantize_module_input(self, site: str, amax: float, layers: Any) -> None:
        path = site[: -len(":input")]
        net = self.ctx.network
        weights = (self.ctx.trt.LayerType.DEQUANTIZE, self.ctx.trt.LayerType.CONSTANT)  # kernels made at finalize
        dequantized = {net.get_layer(i).get_output(0).name for i in range(net.num_layers)
                       if net.get_layer(i).type in weights}
        done = False
        for kind, layer in layers:
            if module_path(layer.name) != path:
                continue
            if not self._wanted(kind, layer):
                self.unplaced.append((site, "excluded, kept in a higher precision, or inside a loop / conditional"))
                return
            for j in range(layer.num_inputs):
                t = layer.get_input(j)
                if t is None or not self._floating(t) or self._is_constant(t) or t.name in dequantized \
                        or self._inside(t.name, path):
                    continue
                key = (f"{t.name}@{path}", t.dtype)
                if key not in self._dq:
                    count = sum(1 for k in self._dq if k[0].endswith(f"@{path}"))
                    name = f"{path}:input" + (f"#{count}" if count else "")
                    checked = checked_amax(site, amax, self._dtype(t))
                    self._dq[key] = self._qdq(t, checked, self.qat.clip.get(site), name)
                layer.set_input(j, self._dq[key])
                done = True
                if layer.name not in self.quantized:
                    self.quantized.append(layer.name)
        if not done:
            self.unplaced.append((site, "no layer of that module takes a floating input from outside it"))

    def _inside(self, name: str, path: str) -> bool:
        kind, layer = self._producer.get(name, ("", None))
        return layer is not None and under(module_path(layer.name), [path])

    def _qdq(self, t: Any, amax: float, clip: Optional[Tuple[float, float]], name: str) -> Any:
        if clip is not None:
            c = self.ctx.network.add_activation(t, self.ctx.trt.ActivationType.CLIP)
            c.alpha, c.beta = float(clip[0]), float(clip[1])
            self.ctx.name_layer(c, f"{name}:clip")
            t = c.get_output(0)
        return add_qdq(self.ctx, t, amax, self.fmt, name)

    def _report(self) -> None:
        if not self.unplaced:
            return
        listed = "; ".join(f"{site}: {why}" for site, why in self.unplaced[:12])
        more = f" (and {len(self.unplaced) - 12} more)" if len(self.unplaced) > 12 else ""
        if self.qat.strict:
            raise ConfigError(f"QAT: {len(self.unplaced)} quantizer(s) of the checkpoint cannot be placed in this "
                              f"network: {listed}{more}; fix the model / names, or pass strict=False to build without "
                              f"them")
        log.warning("QAT: %d quantizer(s) left out (strict=False): %s%s", len(self.unplaced), listed, more)


def _per_channel(amax: torch.Tensor, channels: int) -> torch.Tensor:
    """A per-tensor weight range (torch.ao qnnpack, ModelOpt FP8) as the same value for every channel."""
    return amax.flatten().expand(channels).clone() if amax.numel() == 1 else amax


def make_quantizer(ctx: Any, fmt: torch.dtype, ranges: Any, exclude: Any = (), skip_paths: Any = (),
                   skip_layers: Any = (), scope: Any = None) -> Quantizer:
    """The Q/DQ placement for `ranges`: exactly a QAT checkpoint's (QATRanges), else where calibrated INT8 runs
    fastest (Quantizer; `skip_layers`: an INT8 policy's layers kept unquantized; `scope`: the module path whose
    layers alone are quantized)."""
    if isinstance(ranges, QATRanges):
        return ExactQuantizer(ctx, fmt, ranges, exclude, skip_paths)
    return Quantizer(ctx, fmt, ranges, exclude, skip_paths, skip_layers, scope)
