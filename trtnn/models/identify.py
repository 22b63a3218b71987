"""Which registered YOLO model a checkpoint holds, for the registry's error when a file of another family or size
is given (not a list of 700 missing keys): the family whose smallest model shares the most keys with the file (block
counts aside), then the size whose state_dict has exactly the file's keys and shapes. Models are made only on this
error path. The registry passes its specs in (this module does not import it).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Callable, Dict, FrozenSet, Mapping, Optional, Tuple

from ..errors import TrtnnError

StateDict = Mapping[str, Any]


def _numel(value: Any) -> int:
    return int(value.numel() if hasattr(value, "numel") else value.size)


def _shape_key(key: str) -> str:
    """Keys with block indices inside repeated blocks dropped (`.m.3.` -> `.m.#.`): sizes differ only there."""
    return re.sub(r"\.m\.\d+\.", ".m.#.", key)


@lru_cache(maxsize=None)
def _keys(factory: Callable[[], Any]) -> Optional[FrozenSet[str]]:
    """The (block-index-free) state_dict keys of the model `factory()` makes (once per process)."""
    try:
        return frozenset(_shape_key(k) for k in factory().state_dict())
    except TrtnnError:
        return None


def _fits(state: StateDict, spec: Any, name: str) -> bool:
    """The checkpoint's keys and element counts are exactly those of `name` configured from it."""
    try:
        model = spec.variants[name](**spec.config_from_state_dict(state))
    except (TrtnnError, ArithmeticError, KeyError, ValueError, TypeError):
        return False
    own = model.state_dict()
    return set(own) == set(state) and all(_numel(state[k]) == v.numel() for k, v in own.items())


def identify(state: StateDict, specs: Mapping[str, Any]) -> Tuple[Optional[str], bool]:
    """Among registered names -> specs (one task's YOLO models): (the name `state` holds, True), (its family's
    smallest model, False) when no size fits exactly, or (None, False) when no family shares 90% of its keys."""
    families: Dict[str, list] = {}
    for name, spec in specs.items():
        families.setdefault(spec.family, []).append(name)
    ckpt = {_shape_key(k) for k in state}
    best, score = None, 0.0
    for family, names in families.items():
        keys = _keys(specs[names[0]].variants[names[0]])
        if keys:
            overlap = len(keys & ckpt) / len(keys | ckpt)
            if overlap > score:
                best, score = family, overlap
    if best is None or score < 0.9:
        return None, False
    exact = next((n for n in families[best] if _fits(state, specs[n], n)), None)
    return (exact, True) if exact else (families[best][0], False)


def explain_mismatch(state: StateDict, name: str, specs: Mapping[str, Any]) -> Optional[str]:
    """Why `state` does not load into registered model `name` when it holds another of `specs` (else None)."""
    other, exact = identify(state, specs)
    if other is None or other == name:
        return None
    family, own = specs[other].family, specs[name].family
    if family == own:
        return f"{name}: the checkpoint holds {other} (another size of {family}); use {other}" if exact else None
    what = f"a {other} model" if exact else f"a {family} model (by its keys; no {family} size fits its shapes)"
    return f"{name}: the checkpoint holds {what}, not a {own} one; use {other}" + ("" if exact else
                                                                                    f" or another {family} size")
