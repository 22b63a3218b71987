"""From what a torch file unpickles to a state_dict: plain dicts, wrapper dicts (WRAPPER_KEYS) and pickled modules
(stand-ins walked as `module.state_dict()` would)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Dict, Mapping, Optional, Tuple

import torch

from ...errors import CheckpointError
from .unpickler import StandIn

# Wrapper keys tried, in order, when a checkpoint dict holds no tensors itself
# (ultralytics: `ckpt.get('ema') or ckpt['model']`; CenterNet / others: 'state_dict').
WRAPPER_KEYS = ("ema", "model", "state_dict", "model_state_dict")


def module_state(obj: Any) -> Optional[Dict[str, Any]]:
    """The __dict__ of a pickled nn.Module stand-in, else None."""
    state = obj.state if isinstance(obj, StandIn) else None
    if isinstance(state, tuple) and len(state) == 2:
        state = state[0]
    is_module = isinstance(state, dict) and all(isinstance(state.get(k), dict) for k in ("_parameters", "_modules"))
    return state if is_module else None


def stand_in_state_dict(state: Dict[str, Any], prefix: str, out: "OrderedDict[str, torch.Tensor]") -> None:
    """What `module.state_dict()` returns, walked from a stand-in's recorded __dict__."""
    skip = state.get("_non_persistent_buffers_set")
    skip = skip if isinstance(skip, (set, frozenset)) else set()
    buffers = state.get("_buffers")
    entries = list(state["_parameters"].items())
    entries += [(k, v) for k, v in (buffers.items() if isinstance(buffers, dict) else ()) if k not in skip]
    for name, tensor in entries:
        if tensor is None:
            continue
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"'{prefix}{name}' is {tensor!r}, not a tensor")
        out[prefix + name] = tensor
    for name, child in state["_modules"].items():
        if child is None:
            continue
        child_state = module_state(child)
        if child_state is None:
            raise CheckpointError(f"submodule '{prefix}{name}' is {child!r}, not a module")
        stand_in_state_dict(child_state, f"{prefix}{name}.", out)


def weights(obj: Any) -> Tuple["OrderedDict[str, torch.Tensor]", bool]:
    """The tensors of a loaded checkpoint object, and whether they came out of a module."""
    if isinstance(obj, torch.nn.Module):
        return OrderedDict(obj.state_dict()), True
    state = module_state(obj)
    if state is not None:
        out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
        stand_in_state_dict(state, "", out)
        return out, True
    if isinstance(obj, Mapping):
        if not any(isinstance(v, torch.Tensor) for v in obj.values()):
            for key in WRAPPER_KEYS:
                inner = obj.get(key)
                if isinstance(inner, (Mapping, torch.nn.Module)) or module_state(inner) is not None:
                    return weights(inner)
        tensors = OrderedDict((k, v) for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor))
        if obj and not tensors:
            raise CheckpointError(f"no tensors found; top-level keys: {list(obj)[:10]} "
                                  f"(weights are looked for under {list(WRAPPER_KEYS)})")
        return tensors, False
    raise CheckpointError(f"holds {obj!r}, not a state_dict or a module")


def state_dict_from_object(obj: Any) -> "OrderedDict[str, torch.Tensor]":
    tensors, from_module = weights(obj)
    if tensors and all(k.startswith("module.") for k in tensors):  # DataParallel / DistributedDataParallel
        tensors = OrderedDict((k[len("module."):], v) for k, v in tensors.items())
    if from_module:
        tensors = OrderedDict((k, v.float() if v.is_floating_point() else v) for k, v in tensors.items())
    return OrderedDict((k, v.detach()) for k, v in tensors.items())
