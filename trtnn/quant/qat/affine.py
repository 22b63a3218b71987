"""A torch.ao fake-quant range (scale s, zero_point z, integer range [qmin, qmax]) as TensorRT's symmetric INT8 range.

torch.ao computes fq(x) = (clamp(round(x / s) + z, qmin, qmax) - z) * s: the grid s * k for the integers k in
[lo, hi] = [qmin - z, qmax - z]. TensorRT computes (clamp(round(x / s'), -128, 127)) * s' with s' = amax / 127.
- [lo, hi] inside [-128, 127] (every signed qint8 range, torch's symmetric ranges, the quint8 [0, 127] ranges of
  `reduce_range=True`, e.g. the x86/fbgemm defaults, whatever the zero_point): EXACT with amax = 127 * s (s' = s),
  plus a clip to [lo * s, hi * s] before Q where torch saturates earlier than TensorRT would (`clip`; None when
  [lo, hi] = [-128, 127]).
- otherwise (quint8 [0, 255], the qnnpack default): no symmetric INT8 grid holds 256 levels on one side of 0. The
  nearest symmetric range covering [lo * s, hi * s] has s' = s * max(hi / 127, -lo / 128) (e.g. z = 0: s' =
  255/127 s = 2.008 s): every value within torch's range is representable, at a step s'/s times coarser (max
  rounding error s'/2 instead of s/2). `Converted.error` says so and the importer warns with the tensor's name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Tuple

import torch

INT8_LO, INT8_HI = -128, 127


@dataclass
class Converted:
    """One activation quantizer converted: `amax` (TensorRT scale amax/127), the torch.ao grid it came from, the clip
    range placed before Q (None: none needed) and `error` (None when exact, else what the conversion costs)."""

    amax: float
    scale: float
    zero_point: int
    qrange: Tuple[int, int]
    clip: Optional[Tuple[float, float]]
    error: Optional[str]

    @property
    def exact(self) -> bool:
        return self.error is None


def convert(scale: float, zero_point: int, qmin: int, qmax: int) -> Converted:
    """See the module docstring."""
    lo, hi = qmin - zero_point, qmax - zero_point
    if INT8_LO <= lo and hi <= INT8_HI:
        clip = None if (lo, hi) == (INT8_LO, INT8_HI) else (lo * scale, hi * scale)
        return Converted(INT8_HI * scale, scale, zero_point, (qmin, qmax), clip, None)
    ratio = max(hi / INT8_HI, -lo / -INT8_LO)
    error = (f"torch.ao range [{lo * scale:.6g}, {hi * scale:.6g}] (scale {scale:.6g}, zero_point {zero_point}, "
             f"[{qmin}, {qmax}]) has {hi - lo + 1} levels, more than symmetric INT8 holds on that side of 0: scale "
             f"{ratio * scale:.6g} ({ratio:.4f}x, rounding error up to {ratio / 2:.3f} of torch's step instead of 0.5)")
    return Converted(INT8_HI * ratio * scale, scale, zero_point, (qmin, qmax), None, error)


def weight_amax(scale: torch.Tensor, zero_point: Optional[torch.Tensor], qmin: int, qmax: int
                ) -> Tuple[torch.Tensor, Optional[str]]:
    """Per-channel weight amax: 127 * s per channel and None when every channel's [lo, hi] lies in [-128, 127] (the
    same grid; torch's per-channel symmetric qint8 default is [-128, 127] exactly), else the nearest covering range
    and what it costs."""
    s = scale.double().flatten()
    z = torch.zeros_like(s) if zero_point is None else zero_point.double().flatten()
    lo, hi = qmin - z, qmax - z
    if bool(((lo >= INT8_LO) & (hi <= INT8_HI)).all()):
        return (s * INT8_HI).float(), None
    ratio = torch.maximum(hi / INT8_HI, lo / INT8_LO).clamp(min=1.0)
    return (s * ratio * INT8_HI).float(), (f"weight range [{qmin}, {qmax}] (zero_point up to {int(z.abs().max())}) "
                                           f"is wider than symmetric INT8: scale up to {float(ratio.max()):.4f}x")
