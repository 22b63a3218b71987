"""Stand-ins that generated code uses where trtnn has no equivalent: they raise UnsupportedError at define time,
naming the op and where the original code calls it, while the rest of the file still imports and loads weights."""
from __future__ import annotations

from typing import Any, Callable, Dict, Tuple

import torch

from ..errors import UnsupportedError
from ..graph.module import Module
from ..graph.parameter import Parameter


def unsupported(op: str, where: str) -> Callable[..., Any]:
    """A function that raises UnsupportedError naming `op` (a torch function, method or operator) when called."""
    def raise_unsupported(*args: Any, **kwargs: Any) -> Any:
        raise UnsupportedError(f"{op} (called at {where}) has no trtnn equivalent yet: replace this call in the "
                               "generated code")
    return raise_unsupported


class UnsupportedModule(Module):
    """A torch layer trtnn lacks: holds the original's parameters and buffers (so the state_dict loads strictly)
    and raises UnsupportedError naming the layer when the network is defined."""

    def __init__(self, layer: str, where: str, state: Dict[str, Tuple[Tuple[int, ...], str, bool]]) -> None:
        super().__init__()
        self.layer, self.where = layer, where
        for key, (shape, dtype, is_param) in state.items():
            owner: Module = self
            *path, name = key.split(".")
            for part in path:
                if part not in owner._modules:
                    owner.add_module(part, Module())
                owner = owner._modules[part]
            dt = getattr(torch, dtype)
            if is_param:
                owner.register_parameter(name, Parameter(shape, dt))
            else:
                owner.register_buffer(name, torch.zeros(shape, dtype=dt))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise UnsupportedError(f"{self.layer} (used at {self.where}) has no trtnn layer yet: replace this module in "
                               "the generated code")
