"""The round trip of generated code: import it, load the original state_dict strictly, define, (build,) and
compare the CPU executor's outputs with the torch model's."""
from __future__ import annotations

import inspect
import linecache
import types
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

import torch

from ..compile import Engine, Input, Network, build_network, define
from ..errors import ConfigError
from ..reference import Executor


@dataclass
class RoundTrip:
    """What the round trip produced: the network, its outputs, the worst relative error, the engine if built."""

    network: Network
    outputs: List[torch.Tensor]
    max_rel_err: float
    engine: Optional[Engine]


def load_source(source: str, name: str = "trtnn_generated") -> types.ModuleType:
    """Import generated source as a module (its lines are kept for tracebacks)."""
    filename = f"<{name}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    module = types.ModuleType(name)
    module.__file__ = filename
    exec(compile(source, filename, "exec"), module.__dict__)  # noqa: S102  (our own generated code)
    return module


def full_state_dict(model: torch.nn.Module) -> Dict[str, torch.Tensor]:
    """The model's state_dict and its non-persistent buffers (generated code registers the buffers it cannot make
    as ordinary ones, see GeneratedCode.buffers)."""
    sd = model.state_dict()
    return {**sd, **{k: v for k, v in model.named_buffers() if k not in sd}}


def round_trip(source: str, model: torch.nn.Module, example_inputs: Sequence[torch.Tensor], *,
               build: bool = True) -> RoundTrip:
    """Run generated `source` against the torch `model` it came from (see module docstring)."""
    generated = load_source(source).make_model()
    own, expected = model.state_dict(), generated.state_dict()
    extra = {k: v for k, v in full_state_dict(model).items() if k not in own and k in expected}
    generated.load_state_dict({**own, **extra}, strict=True)
    inputs = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    names = [n for n in inspect.signature(model.forward).parameters][:len(inputs)]
    specs = [Input(n, tuple(x.shape), x.dtype) for n, x in zip(names, inputs)]
    net = define(generated, specs)
    got = list(Executor(net.network)(dict(zip(names, inputs))).values())
    training = model.training
    try:
        with torch.no_grad():
            ref = _flat(model.eval()(*inputs))
    finally:
        model.train(training)
    if len(got) != len(ref):
        raise ConfigError(f"round trip: the generated network has {len(got)} outputs, the torch model {len(ref)}")
    err = max((_rel_err(g, r) for g, r in zip(got, ref)), default=0.0)
    return RoundTrip(net, got, err, build_network(net) if build else None)


def _flat(out: Any) -> List[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out]
    if isinstance(out, dict):
        out = list(out.values())
    return [t for o in out for t in _flat(o)] if isinstance(out, (list, tuple)) else []


def _rel_err(got: torch.Tensor, ref: torch.Tensor) -> float:
    """max |got - ref| / max |ref|; infinite when the shapes differ."""
    if tuple(got.shape) != tuple(ref.shape):
        return float("inf")
    if not ref.numel():
        return 0.0
    got, ref = got.double(), ref.double()
    return ((got - ref).abs().max() / ref.abs().max().clamp_min(1e-12)).item()
