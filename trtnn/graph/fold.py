"""BatchNorm folding and weight finalization: one `Folder` per build context.

A convolution with constant weights is emitted with free placeholder weights and recorded. A BatchNorm that follows
it folds into it when folding is on, no other layer consumed the convolution's output and that output is not a
network output: the convolution's layer then computes the BatchNorm, and the unfolded value is re-emitted only if
something still asks for it. When the forward pass ends, `finalize` gives every recorded convolution its final
weights (`finalize_weights`: folded, or the originals, in the compute dtype), so the network never holds both the
original and the folded weights.

Extension point: with a `kernel_quantizer` (set by trtnn.quant before the forward pass of an
INT8/FP8 build) convolutions take their kernel from a constant layer (`ConvRecord.kernel_layer`, TensorRT allows a
kernel tensor only on a layer created without kernel weights); `kernel_quantizer(record)` returns True when it made
that constant a quantized kernel behind a DQ (from `final_kernel(record, torch.float32)`, i.e. AFTER BatchNorm
folding); otherwise the constant gets the final kernel as usual.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

from .. import dtypes
from ..errors import TrtnnError
from .tensor import Tensor

Emit = Callable[[Any, Any], Any]  # (kernel trt.Weights, bias trt.Weights) -> the convolution layer
KernelQuantizer = Callable[["ConvRecord"], bool]  # True: it quantized the record's kernel


class ConvRecord:
    """A convolution whose weights are set when the forward pass ends; `scale`/`shift` come from a folded BatchNorm."""

    __slots__ = ("layer", "weight", "bias", "dtype", "emit", "scale", "shift", "kernel_layer")

    def __init__(self, layer: Any, weight: torch.Tensor, bias: Optional[torch.Tensor], dtype: torch.dtype,
                 emit: Emit) -> None:
        self.layer, self.weight, self.bias, self.dtype, self.emit = layer, weight, bias, dtype, emit
        self.scale: Optional[torch.Tensor] = None
        self.shift: Optional[torch.Tensor] = None
        self.kernel_layer: Any = None  # the constant layer the kernel comes from (INT8/FP8 builds)

    @property
    def folded(self) -> bool:
        return self.scale is not None


class Folder:
    """Records convolutions, decides BatchNorm folds and sets final weights for one build context.

    `folded` maps a convolution call's name to the BatchNorm call folded into it (read it as `Network.folded`).
    Per-tensor tables are keyed by id() and keep their Tensor alive until `finalize`, so ids stay unique (a
    WeakKeyDictionary would compare Tensors with ==, which emits a layer).
    """

    def __init__(self, ctx: Any, enabled: bool = True) -> None:
        self.ctx = ctx
        self.enabled = enabled
        self.folded: Dict[str, str] = {}
        self.kernel_quantizer: Optional[KernelQuantizer] = None
        self._records: List[ConvRecord] = []
        self._open: Dict[int, Tuple[Tensor, ConvRecord]] = {}  # conv outputs no layer consumed yet: foldable
        self._taken: Dict[int, Tuple[Tensor, ConvRecord]] = {}  # conv outputs a fold took: re-emitted on demand
        self._fold_of: Dict[int, Tuple[Tensor, str]] = {}  # fold results -> the convolution call's name

    # ---- during the forward pass --------------------------------------------------------------------------
    def add_conv(self, emit: Emit, weight: torch.Tensor, bias: Optional[torch.Tensor], dtype: torch.dtype) -> Tensor:
        """Emit a convolution with constant weights through `emit` and return its output, which a following
        BatchNorm may fold into until a layer consumes it."""
        rec = self._emit(emit, weight, bias, dtype)
        out = self.ctx.tensor(rec.layer.get_output(0))
        self._open[id(out)] = (out, rec)
        return out

    def consumed(self, tensor: Tensor) -> None:
        """A layer takes `tensor` as input: a BatchNorm can no longer fold into the convolution that made it."""
        self._open.pop(id(tensor), None)

    def fold(self, output: Tensor, scale: torch.Tensor, shift: torch.Tensor) -> Optional[Tensor]:
        """Fold `y = output * scale + shift` (per channel) into the convolution that made `output`, if allowed;
        returns y, or None when the BatchNorm needs a layer of its own."""
        entry = self._open.pop(id(output), None)
        if not self.enabled or entry is None or output.trt.is_network_output:
            return None
        rec = entry[1]
        rec.scale, rec.shift = scale, shift
        itensor = output._release()
        self._taken[id(output)] = (output, rec)
        folded = self.ctx.tensor(itensor, born=self.ctx.network.num_layers)  # made by the BatchNorm call
        self._fold_of[id(folded)] = (folded, itensor.name)  # the conv output's name: its module path if a module made it
        rec.layer.name = f"{rec.layer.name} + {self.ctx.scope or 'batch_norm'}"
        return folded

    def reemit(self, tensor: Tensor) -> Any:
        """A new, unfolded convolution for a conv output whose layer a fold took; returns its ITensor."""
        entry = self._taken.pop(id(tensor), None)
        if entry is None:
            raise TrtnnError("a convolution output is used after the forward pass ended, but its layer was folded "
                             "into the following BatchNorm; define with fold_bn=False")
        rec = entry[1]
        return self._emit(rec.emit, rec.weight, rec.bias, rec.dtype).layer.get_output(0)

    def named(self, tensor: Tensor, name: str) -> None:
        """`tensor` was named `name` after the module call that returned it: record a fold under that name."""
        entry = self._fold_of.pop(id(tensor), None)
        if entry is not None:
            self.folded[entry[1]] = name

    # ---- when the forward pass ends -----------------------------------------------------------------------
    def finalize_weights(self, rec: ConvRecord) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """The final (kernel, bias) of a convolution in the compute dtype: folded or the originals."""
        return final_kernel(rec), final_bias(rec)

    def finalize(self) -> None:
        """Set every recorded convolution's final weights (or its quantized kernel tensor), then forget the records
        and per-tensor tables."""
        for rec in self._records:
            if rec.kernel_layer is not None and self.kernel_quantizer is not None and self.kernel_quantizer(rec):
                bias = final_bias(rec)
            else:
                kernel, bias = self.finalize_weights(rec)
                if rec.kernel_layer is not None:
                    rec.kernel_layer.weights = self.ctx.weights(kernel)
                    self.ctx.name_layer(rec.kernel_layer, f"{rec.layer.name}:kernel")
                else:
                    rec.layer.kernel = self.ctx.weights(kernel)
            if bias is not None:
                rec.layer.bias = self.ctx.weights(bias)
        self._records.clear()
        self._open.clear()
        self._taken.clear()
        self._fold_of.clear()

    def _emit(self, emit: Emit, weight: torch.Tensor, bias: Optional[torch.Tensor], dtype: torch.dtype) -> ConvRecord:
        kernel_layer = None
        if self.kernel_quantizer is None:
            layer = emit(self._placeholder(weight, dtype), self._placeholder(bias, dtype))
        else:  # the kernel from a constant layer, which may become a quantized kernel behind a DQ
            layer = emit(self.ctx.trt.Weights(dtypes.to_trt(dtype)), self._placeholder(bias, dtype))
            kernel_layer = self.ctx.network.add_constant(tuple(weight.shape), self._placeholder(weight, dtype))
            self.ctx.mark_aux()
            layer.set_input(1, kernel_layer.get_output(0))
        self.ctx.check(layer)
        rec = ConvRecord(layer, weight, bias, dtype, emit)
        rec.kernel_layer = kernel_layer
        self._records.append(rec)
        return rec

    def _placeholder(self, value: Optional[torch.Tensor], dtype: torch.dtype) -> Any:
        """Weights of value's size, uninitialized and nearly free (their pages are never touched until `finalize`
        sets the real ones); empty weights for None."""
        if value is None:
            return self.ctx.trt.Weights(dtypes.to_trt(dtype))
        return self.ctx.weights(torch.empty(value.numel(), dtype=dtype))


def final_kernel(rec: ConvRecord, dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """A convolution's kernel with its BatchNorm folded in (when one was), in `dtype` (default: the compute dtype)."""
    dt = rec.dtype if dtype is None else dtype
    return fold_kernel(rec.weight, rec.scale, dt) if rec.folded else rec.weight.to(dt)


def final_bias(rec: ConvRecord) -> Optional[torch.Tensor]:
    """A convolution's bias with its BatchNorm folded in (when one was), in the compute dtype; None without one."""
    if rec.folded:
        return ((rec.bias.double() * rec.scale if rec.bias is not None else 0) + rec.shift).to(rec.dtype)
    return None if rec.bias is None else rec.bias.to(rec.dtype)


def fold_kernel(weight: torch.Tensor, scale: torch.Tensor, dtype: torch.dtype, block: int = 1 << 18) -> torch.Tensor:
    """weight * scale per output channel, in `dtype`: one rounding of the fp32 product (or of the weights' own dtype
    when that is the compute dtype). Row-wise (2x faster than a 4-D broadcast); when a cast follows, row blocks go
    through a small fp32 buffer that stays in cache instead of a full-size fp32 temporary."""
    w = weight if weight.dtype == dtype else weight.float()
    rows = w.reshape(w.shape[0], -1)
    s = scale.to(w.dtype)[:, None]
    if w.dtype == dtype:
        return (rows * s).reshape(w.shape)
    out = torch.empty(rows.shape, dtype=dtype)
    step = max(1, block // max(rows.shape[1], 1))
    buf = torch.empty(step, rows.shape[1])
    for i in range(0, rows.shape[0], step):
        n = min(step, rows.shape[0] - i)
        torch.mul(rows[i:i + n], s[i:i + n], out=buf[:n])
        out[i:i + n].copy_(buf[:n])
    return out.reshape(w.shape)
