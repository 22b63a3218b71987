"""Reductions and the rest: reduce, topk, softmax, matrix multiply, einsum, cumulative, normalization, LRN, NMS,
assertion."""
from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F

from ..errors import ShapeError
from .common import Node, register


def _bits(mask: int) -> List[int]:
    return [i for i in range(32) if mask >> i & 1]


@register("REDUCE", "IReduceLayer")
def reduce(node: Node):
    layer = node.layer
    op, axes, keep = layer.op.name, _bits(int(layer.axes)), bool(layer.keep_dims)
    if not axes:
        return lambda x: x
    if op == "SUM":
        return lambda x: torch.sum(x, axes, keepdim=keep, dtype=x.dtype)
    if op == "MAX":
        return lambda x: torch.amax(x, axes, keepdim=keep)
    if op == "MIN":
        return lambda x: torch.amin(x, axes, keepdim=keep)
    if op == "AVG":
        def avg(x):
            if x.is_floating_point():
                return torch.mean(x, axes, keepdim=keep)
            count = 1
            for a in axes:
                count *= x.shape[a]
            return torch.div(torch.sum(x, axes, keepdim=keep), count, rounding_mode="trunc").to(x.dtype)
        return avg
    if op == "PROD":
        def prod(x):
            for a in axes:
                x = torch.prod(x, a, keepdim=True, dtype=x.dtype)
            return x if keep else x.squeeze(tuple(axes))
        return prod
    raise node.unsupported(f"reduce operation {op}")


@register("TOPK", "ITopKLayer")
def topk(node: Node):
    layer = node.layer
    axes = _bits(int(layer.axes))
    if len(axes) != 1:
        raise node.unsupported(f"topk over axes {axes}")
    axis, largest = axes[0], layer.op.name == "MAX"
    k0 = int(layer.k) if not node.has_input(1) else None
    idx_dtype = node.out_dtypes[1]

    def run(x, k=None):
        values, idx = torch.topk(x, int(k) if k is not None else k0, dim=axis, largest=largest, sorted=True)
        return values, idx.to(idx_dtype)
    return run


@register("SOFTMAX", "ISoftMaxLayer")
def softmax(node: Node):
    axes = _bits(int(node.layer.axes))
    if len(axes) != 1:
        raise node.unsupported(f"softmax over axes {axes}")
    axis = axes[0]
    return lambda x: torch.softmax(x, axis)


@register("MATRIX_MULTIPLY", "IMatrixMultiplyLayer")
def matrix_multiply(node: Node):
    op0, op1 = node.layer.op0.name, node.layer.op1.name

    def run(a, b):
        if op0 == "TRANSPOSE":
            a = a.transpose(-1, -2)
        elif op0 == "VECTOR":
            a = a.unsqueeze(-2)
        if op1 == "TRANSPOSE":
            b = b.transpose(-1, -2)
        elif op1 == "VECTOR":
            b = b.unsqueeze(-1)
        out = torch.matmul(a, b)
        if op1 == "VECTOR":
            out = out.squeeze(-1)
        if op0 == "VECTOR":
            out = out.squeeze(-1 if op1 == "VECTOR" else -2)
        return out
    return run


@register("EINSUM", "IEinsumLayer")
def einsum(node: Node):
    equation = node.layer.equation
    return lambda *xs: torch.einsum(equation, *xs)


@register("CUMULATIVE", "ICumulativeLayer")
def cumulative(node: Node):
    layer = node.layer
    if layer.op.name != "SUM":
        raise node.unsupported(f"cumulative operation {layer.op.name}")
    exclusive, reverse = bool(layer.exclusive), bool(layer.reverse)

    def run(x, axis):
        a = int(axis) % x.dim()
        y = x.flip(a) if reverse else x
        out = torch.cumsum(y, a, dtype=x.dtype)
        if exclusive:
            out = torch.cat([torch.zeros_like(out.narrow(a, 0, 1)), out.narrow(a, 0, out.shape[a] - 1)], a)
        return out.flip(a) if reverse else out
    return run


@register("NORMALIZATION", "INormalizationLayer")
def normalization(node: Node):
    layer = node.layer
    axes, eps, groups = _bits(int(layer.axes)), float(layer.epsilon), int(layer.num_groups)

    def stats(x, dims):
        var, mean = torch.var_mean(x, dims, correction=0, keepdim=True)
        return (x - mean) / torch.sqrt(var + eps)

    def run(x, scale, bias):
        if groups == 1:
            return stats(x, axes) * scale + bias
        n, c = x.shape[0], x.shape[1]
        xg = x.reshape((n, groups, c // groups) + tuple(x.shape[2:]))
        y = stats(xg, list(range(2, xg.dim())))
        if scale.numel() == groups:
            shape = (1, groups) + (1,) * (xg.dim() - 2)
            return (y * scale.reshape(shape) + bias.reshape(shape)).reshape(x.shape)
        return y.reshape(x.shape) * scale + bias
    return run


@register("LRN", "ILRNLayer")
def lrn(node: Node):
    layer = node.layer
    size, alpha, beta, k = int(layer.window_size), float(layer.alpha), float(layer.beta), float(layer.k)
    return lambda x: F.local_response_norm(x.float(), size, alpha, beta, k).to(x.dtype)


@register("ASSERTION", "IAssertionLayer")
def assertion(node: Node):
    message = node.layer.message

    def run(cond):
        if not bool(torch.all(cond)):
            raise ShapeError(f"assertion '{node.name}' failed: {message}")
        return ()
    return run


def _corners(boxes: torch.Tensor, center: bool) -> torch.Tensor:
    if center:
        xy, wh = boxes[..., :2], boxes[..., 2:]
        return torch.cat([xy - wh / 2, xy + wh / 2], -1)
    lo = torch.minimum(boxes[..., :2], boxes[..., 2:])
    hi = torch.maximum(boxes[..., :2], boxes[..., 2:])
    return torch.cat([lo, hi], -1)


def _iou(box: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    lo = torch.maximum(box[:2], others[:, :2])
    hi = torch.minimum(box[2:], others[:, 2:])
    inter = (hi - lo).clamp(min=0).prod(-1)
    area = lambda b: (b[..., 2:] - b[..., :2]).prod(-1)  # noqa: E731
    union = area(box) + area(others) - inter
    return torch.where(union > 0, inter / union, torch.zeros_like(union))


@register("NMS", "INMSLayer")
def nms(node: Node):
    layer = node.layer
    center = layer.bounding_box_format.name == "CENTER_SIZES"
    limit = int(layer.topk_box_limit)
    idx_dtype, count_dtype = node.out_dtypes[0], node.out_dtypes[1]

    def run(boxes, scores, max_per_class, iou_thr=None, score_thr=None):
        per_class = int(max_per_class)
        iou_t = float(iou_thr) if iou_thr is not None else 0.0
        score_t = float(score_thr) if score_thr is not None else 0.0
        boxes, scores = _corners(boxes.float(), center), scores.float()
        batch, n, classes = scores.shape
        picked: List[List[int]] = []
        for b in range(batch):
            flat = scores[b].reshape(-1)  # index = box * classes + class
            order = torch.argsort(flat, descending=True, stable=True)
            order = order[flat[order] > score_t][:limit].tolist()
            kept = {c: [] for c in range(classes)}
            for k in order:
                box, c = divmod(k, classes)
                if len(kept[c]) >= per_class:
                    continue
                cand = boxes[b, box, c] if boxes.dim() == 4 else boxes[b, box]
                if kept[c]:
                    prev = torch.stack([boxes[b, j, c] if boxes.dim() == 4 else boxes[b, j] for j in kept[c]])
                    if bool((_iou(cand, prev) > iou_t).any()):
                        continue
                kept[c].append(box)
                picked.append([b, c, box])
        sel = torch.tensor(picked, dtype=idx_dtype).reshape(-1, 3)
        return sel, torch.tensor(len(picked), dtype=count_dtype)
    return run

