"""Check a trtnn layer against the torch.nn module it mirrors: same state_dict (loaded strictly), same outputs."""
from __future__ import annotations

from typing import Sequence

import torch

import trtnn
from harness import define_and_run, rel_err


def randomized(module: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """`module` in eval mode with every floating parameter and buffer random (norm weights are not all ones)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in list(module.named_parameters()) + list(module.named_buffers()):
            if t.is_floating_point():
                v = torch.rand(t.shape, generator=g) + 0.5 if "var" in name else torch.randn(t.shape, generator=g)
                t.copy_(v)
    return module.eval()


def check_module(ref: torch.nn.Module, mine: trtnn.Module, inputs: Sequence[torch.Tensor], dtype: str = "fp32",
                 tol: float = None) -> trtnn.Network:
    """Load ref's state_dict into `mine` (strict), define it for `inputs`, compare with ref on the inputs in fp32."""
    ref = randomized(ref)
    mine.load_state_dict(ref.state_dict(), strict=True)
    with torch.no_grad():
        want = ref(*[x.float() if x.is_floating_point() else x for x in inputs])
    want = list(want) if isinstance(want, (tuple, list)) else [want]
    net, got = define_and_run(mine, inputs, dtype)
    tol = tol if tol is not None else (1e-5 if dtype == "fp32" else 1e-2)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert tuple(g.shape) == tuple(w.shape)
        err = rel_err(g.float(), w.float())
        assert err <= tol, f"relative error {err:.3g} > {tol}"
    return net
