"""What the CPU and GPU runners share: tensor specs, optimization profiles and the choice among them, input checking
and conversion, and splitting a batch larger than every profile into chunks."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .. import dtypes
from ..errors import InputError

Shape = Tuple[int, ...]
Inputs = Union[Mapping[str, Any], Sequence[Any]]


@dataclass(frozen=True)
class TensorSpec:
    """An engine input or output: name, shape (-1 = dynamic or data-dependent), torch dtype, meaning (metadata)."""

    name: str
    shape: Shape
    dtype: torch.dtype
    meaning: str = ""

    def __repr__(self) -> str:
        return f"{self.name}: {'x'.join(str(d) for d in self.shape) or 'scalar'} {dtypes.short(self.dtype)}"


@dataclass(frozen=True)
class Profile:
    """One optimization profile: input name -> (min, opt, max) shapes of the dynamic inputs."""

    index: int
    shapes: Mapping[str, Tuple[Shape, Shape, Shape]]

    def fits(self, given: Mapping[str, Shape]) -> bool:
        return all(len(given[n]) == len(lo) and all(a <= g <= b for g, a, b in zip(given[n], lo, hi))
                   for n, (lo, _, hi) in self.shapes.items())

    @property
    def max_batch(self) -> Optional[int]:
        """The largest batch (dim 0) the profile's inputs accept together; None when dim 0 is static."""
        batches = [hi[0] for lo, _, hi in self.shapes.values() if lo[0] != hi[0]]
        return min(batches) if batches else None

    def __str__(self) -> str:
        return f"profile {self.index} (" + "; ".join(f"{n}: min {_fmt(lo)}, opt {_fmt(opt)}, max {_fmt(hi)}"
                                                      for n, (lo, opt, hi) in self.shapes.items()) + ")"


def profiles_from(metadata_profiles: Sequence[Mapping[str, Sequence[Sequence[int]]]]) -> List[Profile]:
    """Profiles from the engine metadata's `profiles` ([{input: [min, opt, max]}])."""
    return [Profile(k, {n: tuple(tuple(int(d) for d in s) for s in v) for n, v in p.items()})
            for k, p in enumerate(metadata_profiles)]


def select_profile(profiles: Sequence[Profile], given: Mapping[str, Shape]) -> int:
    """Index of the first profile that accepts every input shape in `given` (0 for static engines); InputError
    listing the profiles otherwise."""
    if not profiles:
        return 0
    for p in profiles:
        if p.fits(given):
            return p.index
    shapes = ", ".join(f"{n} {_fmt(s)}" for n, s in given.items() if n in profiles[0].shapes)
    raise InputError(f"input shapes {shapes} fit none of the engine's optimization profiles: "
                     + "; ".join(str(p) for p in profiles))


def as_tensor(spec: TensorSpec, value: Any, device: torch.device) -> torch.Tensor:
    """A torch tensor for input `spec` on `device`: torch tensors as they are (moved when on another device), numpy
    arrays copied, CUDA-array-interface objects (cupy, numba, pycuda GPUArray) viewed without a copy. The dtype must
    match (no silent conversion) and static dims must agree."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
    elif isinstance(value, np.ndarray):
        try:
            t = torch.from_numpy(np.ascontiguousarray(value))
        except TypeError as e:
            raise InputError(f"input '{spec.name}': numpy dtype {value.dtype} cannot be used ({e})") from None
    elif hasattr(value, "__cuda_array_interface__"):
        t = torch.as_tensor(value, device=device if device.type == "cuda" else "cuda")
    else:
        raise InputError(f"input '{spec.name}': expected a torch tensor, numpy array or CUDA array of shape "
                         f"{_fmt(spec.shape)} ({dtypes.short(spec.dtype)}), got {type(value).__name__}")
    got = tuple(t.shape)
    if len(got) != len(spec.shape) or any(e >= 0 and e != g for e, g in zip(spec.shape, got)):
        raise InputError(f"input '{spec.name}': expected shape {_fmt(spec.shape)} (-1 = any), got {_fmt(got)}")
    if t.dtype != spec.dtype:
        raise InputError(f"input '{spec.name}': expected dtype {dtypes.short(spec.dtype)}, got "
                         f"{dtypes.short(t.dtype)} (convert it first: the runner never casts silently)")
    return t.to(device).contiguous()


def bind(specs: Sequence[TensorSpec], inputs: Inputs, device: torch.device) -> Dict[str, torch.Tensor]:
    """{name: tensor} for every input, from a dict or a sequence in input order; unknown or missing names refused."""
    names = [s.name for s in specs]
    if isinstance(inputs, Mapping):
        unknown = [k for k in inputs if k not in names]
        missing = [n for n in names if n not in inputs]
        if unknown or missing:
            raise InputError((f"unknown input(s) {unknown}; " if unknown else "")
                             + (f"missing input(s) {missing}; " if missing else "")
                             + f"the engine takes {', '.join(repr(s) for s in specs)}")
        values = [inputs[n] for n in names]
    elif isinstance(inputs, (list, tuple)):
        if len(inputs) != len(specs):
            raise InputError(f"got {len(inputs)} inputs, the engine takes {len(specs)}: "
                             f"{', '.join(repr(s) for s in specs)}")
        values = list(inputs)
    else:
        if len(specs) == 1:
            values = [inputs]
        else:
            raise InputError(f"inputs must be a dict {{name: tensor}} or a list in input order, got "
                             f"{type(inputs).__name__}; the engine takes {', '.join(repr(s) for s in specs)}")
    return {s.name: as_tensor(s, v, device) for s, v in zip(specs, values)}


def batch_chunks(tensors: Mapping[str, torch.Tensor], profiles: Sequence[Profile]) -> List[Dict[str, torch.Tensor]]:
    """The inputs in chunks no larger than the largest profile's batch when every input is batched on dim 0 and the
    batch is larger than any profile takes; otherwise the inputs as they are (one chunk)."""
    limits = [p.max_batch for p in profiles if p.max_batch is not None]
    batches = {int(t.shape[0]) for t in tensors.values() if t.dim() > 0}
    batched = all(n in profiles[0].shapes for n in tensors) if profiles else False
    if not limits or not batched or len(batches) != 1:
        return [dict(tensors)]
    (batch,), limit = batches, max(limits)
    if batch <= limit:
        return [dict(tensors)]
    return [{n: t[i:i + limit] for n, t in tensors.items()} for i in range(0, batch, limit)]


def concat_chunks(chunks: Sequence[Mapping[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    if len(chunks) == 1:
        return dict(chunks[0])
    return {n: torch.cat([c[n] for c in chunks]) for n in chunks[0]}


def _fmt(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
