"""Capture one module's forward as a torch.fx graph, with concrete values.

Every submodule call is a leaf (one class is emitted per module type, so each forward only needs its own code).
Each traced node also carries its real value (computed on the example inputs as the trace goes), so Python control
flow that depends on shapes or values takes the branch the example takes; each such decision is recorded with the
user's source line so the generated code can mark it.
"""
from __future__ import annotations

import inspect
import linecache
import operator
import os
import traceback
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Optional, Tuple

import torch
import torch.fx as fx
from torch.fx import _symbolic_trace
from torch.fx.proxy import Attribute

from ..errors import UnsupportedError

_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_TRTNN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


@dataclass
class Specialization:
    """A Python decision taken on a traced value (`if H % 7:`, `range(n)`, `int(x.shape[1])`)."""

    kind: str
    value: Any
    where: str  # file:line of the user's code
    code: str  # that source line
    before: int  # number of graph nodes when it happened: the comment goes before the next node


@dataclass
class Captured:
    """One module's forward: the graph, each node's value, the trace-time decisions, and the forward signature."""

    graph: fx.Graph
    values: Dict[str, Any]
    specializations: List[Specialization]
    signature: inspect.Signature
    specialized_args: Dict[str, Any] = field(default_factory=dict)


def user_location(stack: Optional[List[traceback.FrameSummary]] = None) -> Tuple[str, str]:
    """(`file:line`, source line) of the innermost frame outside torch and trtnn, or ('?', '')."""
    for frame in reversed(stack if stack is not None else traceback.extract_stack()):
        path = os.path.abspath(frame.filename)
        if not path.startswith(_TORCH_DIR) and not path.startswith(_TRTNN_DIR):
            line = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
            return f"{frame.filename}:{frame.lineno}", line
    return "?", ""


@contextmanager
def _unpatched() -> Iterator[None]:
    """Run a submodule for real while the tracer has patched torch.nn.Module's call and getattr."""
    call, getattr_ = torch.nn.Module.__call__, torch.nn.Module.__getattr__
    torch.nn.Module.__call__ = _symbolic_trace._orig_module_call  # type: ignore[method-assign]
    torch.nn.Module.__getattr__ = _symbolic_trace._orig_module_getattr  # type: ignore[method-assign]
    try:
        yield
    finally:
        torch.nn.Module.__call__, torch.nn.Module.__getattr__ = call, getattr_  # type: ignore[method-assign]


class _Values:
    """Mixin for proxies: Python conversions use the concrete value and are recorded as specializations."""

    tracer: "ConcreteTracer"

    @property
    def value(self) -> Any:
        return self.tracer.value_of(self)

    def _decide(self, kind: str, result: Any) -> Any:
        self.tracer.specialize(kind, result)
        return result

    def __bool__(self) -> bool:
        return self._decide("bool", bool(self.value))

    def __index__(self) -> int:
        return self._decide("int", self.value.__index__())

    def __int__(self) -> int:
        return self._decide("int", int(self.value))

    def __float__(self) -> float:
        return self._decide("float", float(self.value))

    def __len__(self) -> int:
        return self._decide("len", len(self.value))

    def __iter__(self):
        return iter([self[i] for i in range(len(self.value))])

    def __setitem__(self, key: Any, value: Any) -> None:
        self.tracer.create_proxy("call_function", operator.setitem, (self, key, value), {})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return _ValueAttribute(self, name)


class _ValueProxy(_Values, fx.Proxy):
    pass


class _ValueAttribute(_Values, Attribute):
    pass


class ConcreteTracer(fx.Tracer):
    """fx tracing of `root.forward` on concrete inputs; every submodule is a leaf."""

    def __init__(self, root: torch.nn.Module, inputs: Dict[str, Any], calls: Optional["Calls"] = None) -> None:
        super().__init__()
        self.calls = calls
        self.record_stack_traces = True
        self.proxy_buffer_attributes = True
        self.root_module = root
        self.inputs = inputs
        self.values: Dict[str, Any] = {}
        self.specializations: List[Specialization] = []

    def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
        return m is not self.root_module

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return _ValueProxy(node, self)

    def value_of(self, obj: Any) -> Any:
        if isinstance(obj, Attribute):
            return getattr(self.value_of(obj.root), obj.attr)
        if isinstance(obj, fx.Proxy):
            return self.values[obj.node.name]
        if isinstance(obj, (list, tuple)):
            return type(obj)(self.value_of(o) for o in obj) if not hasattr(obj, "_fields") else obj
        if isinstance(obj, dict):
            return {k: self.value_of(v) for k, v in obj.items()}
        if isinstance(obj, slice):
            return slice(self.value_of(obj.start), self.value_of(obj.stop), self.value_of(obj.step))
        return obj

    def create_proxy(self, kind: str, target: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any], name=None,
                     type_expr=None, proxy_factory_fn=None) -> fx.Proxy:
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        self.values[proxy.node.name] = self._run(kind, target, self.value_of(args), self.value_of(kwargs))
        return proxy

    def _run(self, kind: str, target: Any, args: Any, kwargs: Any) -> Any:
        if kind == "placeholder":
            return self.inputs.get(target, self.inputs.get(target.rsplit("_", 1)[0]))
        if kind == "get_attr":
            obj: Any = self.root_module
            with _unpatched():
                for part in target.split("."):
                    obj = getattr(obj, part)
            return obj
        if kind == "call_module":
            module = self.root_module.get_submodule(target)
            known = self.calls.output_of(module) if self.calls is not None else None
            if known is not None:
                return known
            with _unpatched(), torch.no_grad():
                return module(*args, **kwargs)
        if kind == "call_method":
            return getattr(args[0], target)(*args[1:], **kwargs)
        if kind == "call_function":
            return target(*args, **kwargs)
        return None

    def to_bool(self, obj: fx.Proxy) -> bool:
        return _ValueProxy.__bool__(obj)  # type: ignore[arg-type]

    def iter(self, obj: fx.Proxy):
        return _Values.__iter__(obj)  # type: ignore[arg-type]

    def specialize(self, kind: str, value: Any) -> None:
        where, code = user_location()
        self.specializations.append(Specialization(kind, value, where, code, len(self.graph.nodes)))


def capture(module: torch.nn.Module, args: Tuple[Any, ...], kwargs: Dict[str, Any],
            calls: Optional["Calls"] = None) -> Captured:
    """Trace `module.forward(*args, **kwargs)` one level deep (children are calls), keeping the real values
    (children called once in `calls` are not run again)."""
    sig = inspect.signature(module.forward)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise UnsupportedError(f"{type(module).__name__}.forward{sig}: cannot bind the recorded call ({e})") from None
    bound.apply_defaults()
    concrete = {}
    for name, value in bound.arguments.items():
        kind = sig.parameters[name].kind
        if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            raise UnsupportedError(f"{type(module).__name__}.forward takes *{name}: give it named arguments")
        if not isinstance(value, torch.Tensor):
            concrete[name] = value
    tracer = ConcreteTracer(module, dict(bound.arguments), calls)
    try:
        graph = tracer.trace(module, concrete_args=concrete or None)
    except UnsupportedError:
        raise
    except Exception as e:
        where, code = user_location(traceback.extract_tb(e.__traceback__))
        raise UnsupportedError(f"cannot trace {type(module).__name__}.forward at {where} ({code}): "
                               f"{type(e).__name__}: {e}") from None
    return Captured(graph, tracer.values, tracer.specializations, sig, concrete)


@dataclass
class Calls:
    """What one run of the model recorded, keyed by id(module): the first call's (args, kwargs), and the output
    of the modules called exactly once (the trace reuses it instead of running them again)."""

    inputs: Dict[int, Tuple[Tuple[Any, ...], Dict[str, Any]]] = field(default_factory=dict)
    outputs: Dict[int, Any] = field(default_factory=dict)
    count: Dict[int, int] = field(default_factory=dict)

    def output_of(self, module: torch.nn.Module) -> Any:
        return self.outputs.get(id(module)) if self.count.get(id(module)) == 1 else None


def record_calls(model: torch.nn.Module, inputs: Tuple[Any, ...]) -> Calls:
    """Run `model(*inputs)` once, recording every module's calls."""
    calls = Calls()

    def before(module: torch.nn.Module, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        calls.count[id(module)] = calls.count.get(id(module), 0) + 1
        if id(module) not in calls.inputs:
            calls.inputs[id(module)] = (_clone(args), _clone(kwargs))

    def after(module: torch.nn.Module, args: Tuple[Any, ...], output: Any) -> None:
        calls.outputs.setdefault(id(module), _clone(output))

    handles = [h for m in model.modules() for h in (m.register_forward_pre_hook(before, with_kwargs=True),
                                                     m.register_forward_hook(after))]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return calls


def _clone(v: Any) -> Any:
    """A copy safe from later in-place ops of the model."""
    if isinstance(v, torch.Tensor):
        return v.detach().clone()
    if isinstance(v, (tuple, list)):
        return type(v)(_clone(a) for a in v)
    if isinstance(v, dict):
        return {k: _clone(a) for k, a in v.items()}
    return v
