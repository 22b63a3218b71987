"""The task output parts whose SQNR against fp32 the INT8/FP8 policy budgets (trtnn.quant.sensitivity): a YOLO head's
boxes (relative to their size), class scores, mask coefficients / keypoints / angle and mask logits; any other output
whole."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from ..errors import ConfigError

SCORE_FLOOR = 0.1  # boxes / coefficients count where the fp32 class score reaches this


@dataclass(frozen=True)
class HeadLayout:
    """How a YOLO head's output [B, 4 + nc + k, A] reads: `nc` class scores after 4 box rows in `box_format`
    ('xywh': center and size; 'xyxy': corners, NMS-free one-to-one branches), then k rows of `extra` (its name in
    the printed policy: mask coefficients, keypoints, angle); keypoints: `keypoint_dims` values each."""

    nc: int
    extra: str = "extra"
    box_format: str = "xywh"
    keypoint_dims: int = 0  # pose: values per keypoint (x, y[, visibility]) in the extra rows

    def __post_init__(self) -> None:
        if self.box_format not in ("xywh", "xyxy"):
            raise ConfigError(f"box_format must be 'xywh' or 'xyxy', got {self.box_format!r}")
        if self.keypoint_dims not in (0, 2, 3):
            raise ConfigError(f"keypoint_dims must be 0, 2 or 3, got {self.keypoint_dims!r}")


MASK_ANCHORS = 32  # mask logits are measured at this many highest-scoring anchors per image


@dataclass
class Part:
    """One task output part whose SQNR counts: rows `rows` of output `output`, times `weight` (anchors whose fp32
    score reaches SCORE_FLOOR) where given; with `centers` (boxes in `box_format`), each box as the distances of its
    four edges from the fp32 box's center [B, 2, A], so that the signal is the box's size and the noise its edges'
    displacement (what IoU sees), not its position in the image; keypoints (`keypoint_dims` values each) likewise
    as their x, y offsets from that center (relative to the object's size, as OKS); with `protos`, the mask logits
    (those rows, mask coefficients, times the prototypes output `protos`) at the fp32 reference's `anchors` [B, K]."""

    name: str
    output: str
    rows: slice = field(default_factory=lambda: slice(None))
    weight: Optional[torch.Tensor] = None
    protos: Optional[str] = None
    anchors: Optional[torch.Tensor] = None
    centers: Optional[torch.Tensor] = None
    box_format: str = "xywh"
    keypoint_dims: int = 0

    def of(self, outputs: Dict[str, torch.Tensor]) -> torch.Tensor:
        y = outputs[self.output].float()
        if y.dim() >= 2:
            y = y[:, self.rows]
        if self.centers is not None and self.keypoint_dims:
            k = y.reshape(y.shape[0], -1, self.keypoint_dims, y.shape[-1])  # [B, K, D, A]
            y = torch.cat((k[:, :, :2] - self.centers[:, None], k[:, :, 2:]), 2).flatten(1, 2)
        elif self.centers is not None:
            lo, hi = _corners(y, self.box_format)
            y = torch.cat((self.centers - lo, hi - self.centers), 1)
        if self.weight is not None:
            y = y * self.weight
        if self.protos is None:
            return y
        coef = torch.gather(y, 2, self.anchors[:, None, :].expand(-1, y.shape[1], -1))  # [B, k, K]
        return torch.einsum("bkn,bkp->bnp", coef, outputs[self.protos].float().flatten(2))


def _corners(boxes: torch.Tensor, box_format: str) -> Tuple[torch.Tensor, torch.Tensor]:
    """(x1, y1), (x2, y2) [B, 2, A] of boxes [B, 4, A] in 'xywh' (center, size) or 'xyxy'."""
    if box_format == "xyxy":
        return boxes[:, :2], boxes[:, 2:4]
    return boxes[:, :2] - boxes[:, 2:4] / 2, boxes[:, :2] + boxes[:, 2:4] / 2


def task_parts(outputs: Dict[str, torch.Tensor], head: Optional[HeadLayout]) -> List[Part]:
    """The parts of `outputs` (fp32 reference) whose SQNR counts: with a `head`, a YOLO head output [B, 4 + nc + k, A]
    splits into boxes (measured relative to their size, see Part), scores and the extra rows (mask coefficients,
    keypoints (offsets from the box center, see Part), angle), the boxes and extra counted where the fp32 class
    score is >= SCORE_FLOOR; a segmentation head's prototypes [B, k, h, w] count as the mask logits they make with the coefficients of the best-scoring
    anchors (what the masks are cut from); every other output is one part."""
    nc, extra = (head.nc, head.extra) if head is not None else (None, "")
    parts: List[Part] = []
    heads = {}
    for name, y in outputs.items():
        if nc and y.dim() == 3 and y.shape[1] >= 4 + nc and y.shape[2] > y.shape[1]:
            score = y[:, 4:4 + nc].amax(dim=1, keepdim=True)
            weight = (score >= SCORE_FLOOR).float()
            lo, hi = _corners(y[:, :4].float(), head.box_format)
            centers = (lo + hi) / 2
            parts.append(Part("boxes", name, slice(0, 4), weight, centers=centers, box_format=head.box_format))
            parts.append(Part("scores", name, slice(4, 4 + nc)))
            if y.shape[1] > 4 + nc:
                parts.append(Part(extra, name, slice(4 + nc, None), weight, centers=centers if head.keypoint_dims
                                  else None, keypoint_dims=head.keypoint_dims))
                heads[y.shape[1] - 4 - nc] = (name, score, weight)
    for name, y in outputs.items():
        if any(p.output == name for p in parts):
            continue
        seg = heads.get(y.shape[1]) if y.dim() == 4 and extra == "mask coefficients" else None
        if seg is None:
            parts.append(Part(name, name))
            continue
        out, score, weight = seg
        k = min(MASK_ANCHORS, score.shape[2])
        anchors = score[:, 0].topk(k, dim=1).indices
        parts.append(Part("masks", out, slice(4 + nc, None), weight, protos=name, anchors=anchors))
    return parts


def sqnr(ref: Dict[str, torch.Tensor], got: Dict[str, torch.Tensor], parts: Sequence[Part]) -> Dict[str, float]:
    """10 log10(sum ref^2 / sum (ref - got)^2) per part (inf when equal)."""
    out = {}
    for part in parts:
        a, b = part.of(ref), part.of(got)
        out[part.name] = ratio_db(float((a ** 2).sum()), float(((a - b) ** 2).sum()))
    return out


def ratio_db(signal: float, noise: float) -> float:
    """10 log10(signal / noise), inf when the noise is 0."""
    return math.inf if noise == 0 else 10 * math.log10(max(signal, 1e-30) / noise)


def sqnr_per_feed(refs: Sequence[Dict[str, torch.Tensor]], got: Dict[str, List[torch.Tensor]],
                  head: Optional[HeadLayout]) -> Dict[str, float]:
    """`sqnr` over feeds whose outputs differ in size (a dynamic network): signal and noise summed per part."""
    signal: Dict[str, float] = {}
    noise: Dict[str, float] = {}
    for f, ref in enumerate(refs):
        for part in task_parts(ref, head):
            a, b = part.of(ref), part.of({t: v[f] for t, v in got.items()})
            signal[part.name] = signal.get(part.name, 0.0) + float((a ** 2).sum())
            noise[part.name] = noise.get(part.name, 0.0) + float(((a - b) ** 2).sum())
    return {p: ratio_db(signal[p], noise[p]) for p in signal}


__all__ = ["HeadLayout", "MASK_ANCHORS", "Part", "SCORE_FLOOR", "ratio_db", "sqnr", "sqnr_per_feed", "task_parts"]
