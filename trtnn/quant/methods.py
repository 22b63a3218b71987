"""Calibration methods: the amax (clipping range, scale = amax / 127 for INT8) of one tensor from its statistics.

minmax: the largest |x| seen. percentile: the p-th percentile of |x|, read off the histogram with linear interpolation
inside the bin where the cumulative count reaches p% of all values. entropy: the threshold minimising the KL
divergence between the clipped reference distribution and its 128-level quantization (NVIDIA's published INT8
calibration, "8-bit Inference with TensorRT", GTC 2017, as IInt8EntropyCalibrator2). mse: the threshold minimising
the mean squared INT8 quantization error of the histogram's bin centres. Every histogram method returns at most
the largest |x| seen; a tensor that was always zero gets amax 0.
"""
from __future__ import annotations

from typing import Callable, Dict

import numpy as np

from ..errors import ConfigError
from .stats import TensorStats

QUANT_LEVELS = 128  # levels of |x| an INT8 tensor can take (0..127 and the sign)
FIRST_CANDIDATE = 128  # entropy/mse thresholds start at bin 128
SMOOTHING = 1e-4  # counts given to the empty bins of the quantized distribution (a KL with q = 0 < p is infinite)


def minmax(stats: TensorStats) -> float:
    """The largest |x| seen."""
    return stats.absmax


def percentile(stats: TensorStats, percentile: float = 99.99) -> float:
    """The `percentile`-th percentile of |x| (linear inside the bin where the cumulative count reaches it)."""
    if not 0.0 < percentile <= 100.0:
        raise ConfigError(f"percentile must be in (0, 100], got {percentile}")
    hist = stats.hist
    total = hist.sum()
    if stats.absmax == 0.0 or total == 0.0:
        return 0.0
    target = total * percentile / 100.0
    cum = np.cumsum(hist)
    k = min(int(np.searchsorted(cum, target)), hist.size - 1)  # first bin with cum >= target
    before = cum[k - 1] if k else 0.0
    frac = (target - before) / hist[k] if hist[k] else 1.0
    return min((k + frac) * stats.bin_width, stats.absmax)


def entropy(stats: TensorStats) -> float:
    """KL-divergence calibration, for every candidate i from bin 128 to num_bins:
    P = bins [0, i) with the counts of bins >= i (outliers) added to bin i - 1;
    Q = bins [0, i) merged into 128 levels (bin j goes to level floor(j * 128 / i)), each level's count spread evenly
    over its non-empty bins (empty bins stay empty), then SMOOTHING counts put in Q's empty bins;
    KL(P || Q) after normalising both. The i with the smallest KL wins (the first on a tie); amax = (i + 0.5) * bin
    width.
    Vectorised over all candidates with cumulative sums (tests check it against the plain loop)."""
    h = stats.hist
    n = h.size
    if stats.absmax == 0.0 or n < FIRST_CANDIDATE:
        return 0.0 if stats.absmax == 0.0 else stats.absmax
    nonzero = h > 0
    hlogh = np.where(nonzero, h * np.log(np.where(nonzero, h, 1.0)), 0.0)
    zero = np.zeros(1)
    C, NZ, HL = (np.concatenate([zero, np.cumsum(a)]) for a in (h, nonzero.astype(np.float64), hlogh))
    T = C[n]
    i = np.arange(FIRST_CANDIDATE, n + 1)  # [K]
    lv = np.arange(QUANT_LEVELS + 1)
    edges = -((-lv[None, :] * i[:, None]) // QUANT_LEVELS)  # ceil(l * i / 128): level l = bins [edges_l, edges_l+1)
    S = C[edges[:, 1:]] - C[edges[:, :-1]]  # [K, 128] level counts
    nz = NZ[edges[:, 1:]] - NZ[edges[:, :-1]]  # non-empty bins per level
    Ci, NZi = C[i], NZ[i]
    Qt = Ci + SMOOTHING * (i - NZi)  # total of the smoothed Q
    with np.errstate(divide="ignore", invalid="ignore"):
        level_term = np.where(S > 0, S * np.log(np.where(S > 0, S / np.maximum(nz, 1), 1.0)), 0.0).sum(axis=1)
        # sum over non-empty j < i of p_j log(p_j / q_j), as if bin i - 1 had no outliers added
        kl = (HL[i] - Ci * np.log(T) - level_term + Ci * np.log(Qt)) / T
        # bin i - 1 receives the outliers o: replace its term
        o = T - Ci
        last = h[i - 1]
        q_last = np.where(last > 0, S[:, -1] / np.maximum(nz[:, -1], 1), SMOOTHING)
        old = np.where(last > 0, last * np.log(np.where(last > 0, last, 1.0) / T) - last * np.log(q_last / Qt), 0.0) / T
        new = np.where(o + last > 0, (o + last) / T * (np.log((o + last) / T) - np.log(q_last / Qt)), 0.0)
        kl = np.where(o > 0, kl - old + new, kl)
    best = int(np.argmin(kl))
    return min((int(i[best]) + 0.5) * stats.bin_width, stats.absmax)


def mse(stats: TensorStats) -> float:
    """The candidate amax = i * bin width (i from 128 to num_bins) with the smallest sum over bins of
    count * (fake_quant(centre) - centre)^2, fake_quant = INT8 symmetric: round half to even, clamp to 127."""
    h = stats.hist
    if stats.absmax == 0.0 or h.size < FIRST_CANDIDATE:
        return stats.absmax
    w = stats.bin_width
    used = np.nonzero(h)[0]
    centres, counts = (used + 0.5) * w, h[used]
    amax = np.arange(FIRST_CANDIDATE, h.size + 1) * w
    scale = (amax / 127.0)[:, None]
    q = np.minimum(np.round(centres[None, :] / scale), 127.0) * scale  # np.round: half to even
    err = ((q - centres[None, :]) ** 2 * counts[None, :]).sum(axis=1)
    return min(float(amax[int(np.argmin(err))]), stats.absmax)


METHODS: Dict[str, Callable[..., float]] = {"minmax": minmax, "percentile": percentile, "entropy": entropy, "mse": mse}
# the best fixed method per format on the real checkpoints (benchmarks/results/int8_defaults.md): INT8 mse (mean
# -0.0035 mAP50-95 against fp32; percentile -0.0039, minmax -0.0060, entropy -0.0122); FP8 minmax (mse optimises
# the INT8 grid, not FP8's)
DEFAULT_METHODS: Dict[str, str] = {"int8": "mse", "fp8": "minmax"}


def compute_amax(stats: TensorStats, method: str, percentile: float = 99.99) -> float:
    """amax of one tensor by `method` ('minmax' | 'percentile' | 'entropy' | 'mse')."""
    if method not in METHODS:
        raise ConfigError(f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}")
    if method == "percentile":
        return float(METHODS[method](stats, percentile))
    return float(METHODS[method](stats))
