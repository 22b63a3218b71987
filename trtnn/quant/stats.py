"""Per-tensor calibration statistics: running abs-max and a fixed-size histogram of |x|, collected in one pass.

Histogram scheme: `num_bins` equal bins over [0, R]; bin k counts k * R / num_bins <= |x| < (k + 1) * R / num_bins
(|x| == R goes in the last bin, as with torch.histc; the index floor(|x| * num_bins / R) is computed in float32).
R is set by the first batch whose max |x| is non-zero (R = that max; zeros seen before go in bin 0). When a later
batch has a larger max, R doubles as many times as needed and the old counts are re-binned EXACTLY by adding adjacent
pairs of bins (bin 2j and 2j+1 -> bin j) per doubling, so no count is split or interpolated. Hence the final R is at
most twice the overall max, and the result depends only on the data and its order (deterministic). Counts are
integers (np.bincount), kept in float64: every count is exact.

Sampling: the abs-max is exact over every value, but a tensor with more than `samples` values per batch adds only a
strided sample of about `samples` of them to the histogram (every stride-th value of the flattened tensor, the
stride being the smallest integer >= size / samples that shares no factor with the size, so the sample visits every
channel and position). Histogramming every value costs several times the executor forward that produced it;
sampling keeps calibration near the cost of the plain forwards. samples=None histograms every value.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
import torch

from ..errors import InputError

DEFAULT_SAMPLES = 16384


def sample_stride(numel: int, samples: Optional[int]) -> int:
    """1 when `numel` <= `samples` (or samples is None), else the smallest stride >= numel / samples coprime with
    numel."""
    if samples is None or numel <= samples:
        return 1
    stride = -(-numel // samples)
    while math.gcd(stride, numel) != 1:
        stride += 1
    return stride


class TensorStats:
    """Statistics of one tensor over all calibration batches (see the module docstring for the histogram)."""

    def __init__(self, name: str, num_bins: int = 2048, samples: Optional[int] = DEFAULT_SAMPLES) -> None:
        self.name = name
        self.num_bins = num_bins
        self.samples = samples
        self.absmax = 0.0
        self.range = 0.0  # R: the histogram covers [0, R]
        self.hist = np.zeros(num_bins, dtype=np.float64)

    @property
    def bin_width(self) -> float:
        return self.range / self.num_bins

    def update(self, x: torch.Tensor, batch: int = 0) -> None:
        """Add the values of `x` (any shape, floating) seen in calibration batch `batch` (named in errors)."""
        flat = x.detach().reshape(-1)
        if flat.numel() == 0:
            return
        lo, hi = torch.aminmax(flat)
        m = max(-float(lo), float(hi))
        if not math.isfinite(m):
            raise InputError(f"tensor '{self.name}' has non-finite values (inf or nan) in calibration batch {batch}: "
                             f"check the data and its preprocessing")
        self.absmax = max(self.absmax, m)
        sample = flat[::sample_stride(flat.numel(), self.samples)]
        if m == 0.0:
            self.hist[0] += sample.numel()
            return
        if self.range == 0.0:
            self.range = m
        while m > self.range:
            self._double_range()
        scaled = sample.float().abs().mul_(self.num_bins / self.range)
        index = scaled.to(torch.int32).clamp_(max=self.num_bins - 1)
        self.hist += np.bincount(index.numpy(), minlength=self.num_bins)

    def _double_range(self) -> None:
        pairs = self.hist.reshape(-1, 2).sum(axis=1)
        self.hist = np.concatenate([pairs, np.zeros(self.num_bins - pairs.size)])
        self.range *= 2.0
