"""Tensors the generated code must create itself (non-persistent buffers, tensors made during the trace): as a
short recipe (`torch.arange(...)`, `torch.full(...)`) or, when tiny, a literal. Larger arbitrary values are never
written into code."""
from __future__ import annotations

from typing import Optional

import torch

from .template import literal

MAX_LITERAL = 16  # elements


def recipe(t: torch.Tensor) -> Optional[str]:
    """Python source that recreates `t` exactly, or None when no short one is known."""
    t = t.detach()
    dtype = f"dtype={t.dtype}"
    shape = tuple(t.shape)
    if t.numel() <= MAX_LITERAL:
        text = f"torch.tensor({_items(t.tolist())}, {dtype})"
        return text if t.numel() or t.dim() == 1 else f"torch.zeros({literal(shape)}, {dtype})"
    flat = t.reshape(-1)
    if bool((flat == flat[0]).all()):
        return f"torch.full({literal(shape)}, {_items(flat[0].item())}, {dtype})"
    if t.dtype.is_floating_point or t.dtype == torch.bool:
        return None
    start, step = flat[0].item(), (flat[1] - flat[0]).item()
    if step and torch.equal(flat, torch.arange(start, start + step * flat.numel(), step, dtype=t.dtype)):
        args = f"{start}, {start + step * flat.numel()}, {step}" if step != 1 else \
            (f"{flat.numel()}" if start == 0 else f"{start}, {start + flat.numel()}")
        return f"torch.arange({args}, {dtype})" + (f".reshape({literal(shape)})" if t.dim() != 1 else "")
    return None


def _items(v: object) -> str:
    return literal(v) if not isinstance(v, float) or v == v else 'float("nan")'
