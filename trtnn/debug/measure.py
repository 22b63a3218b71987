"""The numbers every comparison shares: SQNR, max absolute / relative error with NaN and infinities handled, the
error tally of one module over batches, and their JSON / text forms."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, List, Optional, Tuple

import torch


def sqnr_db(signal: float, noise: float) -> float:
    """10 log10(signal power / error power): inf when there is no error, -inf when there is error but no signal."""
    if noise == 0:
        return math.inf
    if math.isinf(noise) or signal == 0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def limits(dtype: torch.dtype) -> Optional[Tuple[float, float]]:
    """(largest finite value, smallest subnormal) of a reduced floating dtype; None for fp32 and wider."""
    if dtype not in (torch.float16, torch.bfloat16):
        return None
    info = torch.finfo(dtype)
    return float(info.max), float(info.tiny) * float(info.eps)


def nonfinite_errors(a: torch.Tensor, b: torch.Tensor) -> Tuple[float, float, float, float]:
    """(signal power, error power, max error, max |a|) when a or b hold infinities or NaNs: equal infinities and NaN
    in both are no error, any other non-finite difference is an infinite error; the signal counts finite values."""
    same = (a == b) | (torch.isnan(a) & torch.isnan(b))
    err = torch.where(same, 0.0, torch.nan_to_num((b - a).abs(), nan=math.inf, posinf=math.inf))
    ref = torch.where(torch.isfinite(a), a, 0.0)
    return (float(ref.square().sum()), float(err.square().sum()), float(err.max()) if err.numel() else 0.0,
            float(ref.abs().max()) if ref.numel() else 0.0)


def max_errors(got: torch.Tensor, ref: torch.Tensor) -> Tuple[float, float, float]:
    """(max |got - ref|, max relative error = max |got - ref| / max |ref|, max |ref|) in float64; NaN in the same
    place counts as equal, any other NaN as an infinite error."""
    a, b = got.double(), ref.double()
    if b.numel() == 0:
        return 0.0, 0.0, 0.0
    diff = (a - b).abs()
    diff = torch.where(torch.isnan(a) & torch.isnan(b), 0.0, torch.nan_to_num(diff, nan=math.inf))
    d, top = diff.max().item(), torch.nan_to_num(b.abs(), nan=0.0).max().item()
    return d, relative(d, top), top


def relative(err: float, ref: float) -> float:
    """err / ref, 0 without error and inf for an error on a zero reference."""
    if err == 0:
        return 0.0
    return err / ref if ref > 0 else math.inf


@dataclass
class Tally:
    """Error of one module, accumulated over batches (float64 sums)."""

    signal: float = 0.0
    noise: float = 0.0
    max_err: float = 0.0
    max_ref: float = 0.0
    count: int = 0
    overflow: int = 0
    underflow: int = 0
    dtype: Optional[torch.dtype] = None
    shapes: List[Tuple[int, ...]] = field(default_factory=list)

    def add(self, ref: torch.Tensor, got: torch.Tensor, first: bool) -> None:
        """Compare one output tensor: `ref` from the fp32 run, `got` from the reduced run (same shape); `first`:
        of the first batch (its shape is recorded)."""
        a = ref.double().reshape(-1)
        diff = got.double().reshape(-1) - a
        signal, noise = float(torch.dot(a, a)), float(torch.dot(diff, diff))
        max_err = float(torch.linalg.vector_norm(diff, math.inf)) if diff.numel() else 0.0
        max_ref = float(torch.linalg.vector_norm(a, math.inf)) if a.numel() else 0.0
        if not all(map(math.isfinite, (signal, noise, max_err, max_ref))):  # infinities or NaNs: element by element
            signal, noise, max_err, max_ref = nonfinite_errors(a, got.double().reshape(-1))
        self.signal += signal
        self.noise += noise
        self.max_err, self.max_ref = max(self.max_err, max_err), max(self.max_ref, max_ref)
        self.count += a.numel()
        bounds = limits(got.dtype)
        if bounds is not None:
            big, tiny = bounds
            mag = ref.abs()
            if max_ref > big:
                self.overflow += int(torch.count_nonzero(torch.isfinite(mag) & (mag > big)))
            self.underflow += int(torch.count_nonzero(mag < tiny)) - int(torch.count_nonzero(mag == 0))
        self.dtype = got.dtype
        if first:
            self.shapes.append(tuple(got.shape))

    @staticmethod
    def merged(parts: List["Tally"]) -> "Tally":
        """One module's tally from those of its output tensors."""
        out = Tally()
        for t in parts:
            out.signal, out.noise, out.count = out.signal + t.signal, out.noise + t.noise, out.count + t.count
            out.max_err, out.max_ref = max(out.max_err, t.max_err), max(out.max_ref, t.max_ref)
            out.overflow, out.underflow = out.overflow + t.overflow, out.underflow + t.underflow
            out.dtype = t.dtype or out.dtype
            out.shapes += t.shapes
        return out

    @property
    def sqnr(self) -> float:
        return sqnr_db(self.signal, self.noise)

    @property
    def max_rel(self) -> float:
        """max |reduced - fp32| / max |fp32| (as trtnn.debug.compare's max rel)."""
        return relative(self.max_err, self.max_ref)


def json_number(v: float) -> Any:
    """`v`, or its text for inf/nan (JSON has none)."""
    return v if math.isfinite(v) else str(v)


def format_db(v: float) -> str:
    return f"{round(v, 1) + 0.0:.1f}" if math.isfinite(v) else str(v)


def format_fraction(v: float) -> str:
    return "" if v == 0 else f"{v:.3g}"
