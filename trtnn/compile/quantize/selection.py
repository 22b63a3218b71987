"""Which modules a quantized or mixed-precision build treats specially: `exclude`, `keep_fp32`, `keep_fp16`."""
from __future__ import annotations

import re
from typing import Any, Dict, List, Sequence, Set, Tuple

import torch

from ...errors import ConfigError


def module_path(layer_name: str) -> str:
    """The module path a layer name belongs to: `a.b:op#2` -> `a.b`, `conv.path + bn.path` -> `conv.path`."""
    return re.sub(r"#\d+$", "", layer_name.split(" + ")[0].split(":")[0])


def resolve_paths(ctx: Any, entries: Sequence[str], what: str, layer_types: bool = False) -> Tuple[List[str], Set[str]]:
    """Module path prefixes named by `entries` (paths, or module class names expanded to their paths) and the
    TensorRT layer type names among them (only when `layer_types`); unknown entries raise ConfigError."""
    if isinstance(entries, str):
        raise ConfigError(f"{what}: expected a list of module paths or type names, got the string {entries!r}; "
                          f"write {what}=[{entries!r}]")
    types = {t.name for t in ctx.trt.LayerType.__members__.values()} if layer_types else set()
    paths: List[str] = []
    kinds: Set[str] = set()
    for entry in entries:
        if not isinstance(entry, str) or not entry:
            raise ConfigError(f"{what}: expected module paths or type names (str), got {entry!r}")
        by_type = [p for p, t in ctx.module_types.items() if t == entry]
        if by_type:
            paths += by_type
        elif entry in types:
            kinds.add(entry)
        elif any(p == entry or p.startswith(entry + ".") for p in ctx.module_types):
            paths.append(entry)
        else:
            near = [p for p in ctx.module_types if p and p.split(".")[0] == entry.split(".")[0]][:6]
            kinds_hint = " or TensorRT layer type" if layer_types else ""
            raise ConfigError(f"{what}: '{entry}' is neither a module path nor a module type{kinds_hint} of this "
                              f"model" + (f"; e.g. {near}" if near else ""))
    return paths, kinds


def under(path: str, prefixes: Sequence[str]) -> bool:
    """Is module `path` one of `prefixes` or inside one?"""
    return any(p == "" or path == p or path.startswith(p + ".") for p in prefixes)


def keep_precision(ctx: Any, keep_fp32: Sequence[str] = (), keep_fp16: Sequence[str] = ()) -> Dict[str, torch.dtype]:
    """Record in `ctx.kept` the modules (paths or class names) that compute in fp32 / fp16 whatever the network's
    dtype (trtnn.Module casts at their boundaries); returns that table."""
    fp32, _ = resolve_paths(ctx, keep_fp32, "keep_fp32")
    fp16, _ = resolve_paths(ctx, keep_fp16, "keep_fp16")
    both = sorted(set(fp32) & set(fp16))
    if both:
        raise ConfigError(f"keep_fp32 and keep_fp16 both name {both}")
    ctx.kept.update({p: torch.float32 for p in fp32})
    ctx.kept.update({p: torch.float16 for p in fp16})
    return ctx.kept


def paths_for_end2end(paths: List[str]) -> List[str]:
    """--exclude/--keep-* module paths name the raw model's modules (as `trtnn inspect` shows them without
    --end2end): under the wrapper they sit below `model.`; class and layer-type names stay as they are."""
    return [f"model.{p}" if "." in p else p for p in paths]
