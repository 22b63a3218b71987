"""Capture one module's forward as a torch.fx graph, with concrete values.

Every submodule call is a leaf (one class is emitted per module type, so each forward only needs its own code).
Each traced node also carries its real value (computed on the recorded inputs as the trace goes; submodule calls
take the output recorded by one real run of the model), so Python control flow that depends on shapes or values
takes the branch the example takes; each such decision is recorded with the user's source line so the generated
code can mark it. Type checks on traced tensors (`torch.is_tensor(x)`, `isinstance(x, torch.Tensor)`) answer as
they would on the tensors.
"""
from __future__ import annotations

import inspect
import linecache
import math
import operator
import os
import traceback
import weakref
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple

import torch
import torch.fx as fx
from torch.fx.proxy import Attribute

from ..errors import UnsupportedError

_ABSENT = object()
_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_TRTNN_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
# tensor attributes that are fixed for a network (read as Python values); `shape` stays traced
_STATIC_ATTRIBUTES = {"device", "dtype", "is_cuda", "is_cpu", "requires_grad", "is_sparse", "is_quantized", "layout",
                      "is_floating_point", "is_complex", "is_nested", "is_meta", "is_mps", "grad_fn"}


@dataclass
class Specialization:
    """A Python decision taken on a traced value (`if H % 7:`, `range(n)`, `int(x.shape[1])`, a fixed argument)."""

    kind: str
    value: Any
    where: str  # file:line of the user's code
    code: str  # that source line
    before: int  # number of graph nodes when it happened: the comment goes before the next node


@dataclass
class Captured:
    """One module's forward: the graph, each node's value, the trace-time decisions, the forward signature and the
    arguments that are not tensors (fixed to their traced values)."""

    graph: fx.Graph
    values: Dict[str, Any]
    specializations: List[Specialization]
    signature: inspect.Signature
    fixed: Dict[str, Any] = field(default_factory=dict)
    constants: Dict[str, torch.Tensor] = field(default_factory=dict)  # fx's `_tensor_constantN`: made at trace time


def user_location(stack: Optional[List[Any]] = None) -> Tuple[str, str]:
    """(`file:line`, source line) of the innermost frame outside torch and trtnn, or ('?', '')."""
    for frame in reversed(stack if stack is not None else traceback.extract_stack()):
        path = os.path.abspath(frame.filename)
        if not path.startswith(_TORCH_DIR) and not path.startswith(_TRTNN_DIR):
            line = (frame.line or linecache.getline(frame.filename, frame.lineno)).strip()
            return f"{frame.filename}:{frame.lineno}", line
    return "?", ""


def has_tensor(v: Any) -> bool:
    """A tensor, or a list/tuple/dict holding one."""
    if isinstance(v, torch.Tensor):
        return True
    if isinstance(v, (tuple, list)):
        return any(has_tensor(a) for a in v)
    if isinstance(v, dict):
        return any(has_tensor(a) for a in v.values())
    return False


class _Values:
    """Mixin for proxies: Python conversions use the concrete value and are recorded as specializations."""

    tracer: "ConcreteTracer"

    @property
    def value(self) -> Any:
        return self.tracer.value_of(self)

    @property  # type: ignore[misc]
    def __class__(self) -> type:  # isinstance(x, torch.Tensor) / torch.is_tensor(x) as on the traced value
        v = self.value
        return torch.Tensor if isinstance(v, torch.Tensor) else type(v) if isinstance(v, (list, tuple, dict)) \
            else type(self)

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

    def __ceil__(self) -> Any:  # math.ceil(H / s) stays an expression of the sizes
        return self.tracer.create_proxy("call_function", math.ceil, (self,), {})

    def __floor__(self) -> Any:
        return self.tracer.create_proxy("call_function", math.floor, (self,), {})

    def __trunc__(self) -> Any:
        return self.tracer.create_proxy("call_function", math.trunc, (self,), {})

    def __iter__(self):
        return iter([self[i] for i in range(len(self.value))])

    def __setitem__(self, key: Any, value: Any) -> None:
        self.tracer.create_proxy("call_function", operator.setitem, (self, key, value), {})

    def keys(self) -> Any:
        return self.value.keys()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        if name in _STATIC_ATTRIBUTES and isinstance(self.value, torch.Tensor):
            return getattr(self.value, name)
        return _ValueAttribute(self, name)


class _ValueProxy(_Values, fx.Proxy):
    pass


class _ValueAttribute(_Values, Attribute):
    pass


def _is_proxy(a: Any) -> bool:
    return issubclass(type(a), fx.Proxy)  # not isinstance: a proxy of a tensor claims to be a torch.Tensor


class ConcreteTracer(fx.Tracer):
    """fx tracing of `root.forward` on its recorded arguments; every submodule is a leaf whose output is the one
    recorded by the real run."""

    def __init__(self, root: torch.nn.Module, bound: inspect.BoundArguments, outputs: List[Tuple[int, Any]]) -> None:
        super().__init__()
        self.record_stack_traces = True
        self.proxy_buffer_attributes = True
        self.root_module = root
        self.bound = bound
        self.outputs: Dict[int, Deque[Any]] = {}
        for key, out in outputs:
            self.outputs.setdefault(key, deque()).append(out)
        self.values: Dict[str, Any] = {}
        self.specializations: List[Specialization] = []
        self.fixed: Dict[str, Any] = {}

    def proxy(self, node: fx.Node) -> fx.Proxy:
        return _ValueProxy(node, self)

    def run(self) -> fx.Graph:
        """Trace the root's forward. No global patching: for the duration, the root's descendants have an instance
        attribute `forward` that records a call, the root and its children their parameters and buffers as
        proxies in their instance dicts (so `self.weight.reshape(...)` is traced), and the root's dicts of tensors
        (caches of values derived from parameters) are empty; all restored after."""
        root = self.root = self.root_module
        self.graph = fx.Graph(tracer_cls=type(self))
        self.tensor_attrs: Dict[Any, str] = {}
        self.submodule_paths = {m: name for name, m in root.named_modules()}
        patched: List[Tuple[torch.nn.Module, str, Any]] = []
        try:
            for name, value in list(root.__dict__.items()):  # caches of derived tensors (timm's attention bias
                if not name.startswith("_") and type(value) is dict and value and all(
                        isinstance(v, torch.Tensor) for v in value.values()):
                    patched.append((root, name, value))  # cache): empty, so the trace computes them as at first
                    root.__dict__[name] = {}  # call
            for m, path in self.submodule_paths.items():
                if m is not root:
                    patched.append((m, "forward", m.__dict__.get("forward", _ABSENT)))
                    m.__dict__["forward"] = self._stub(m, path)
            record, self.record_stack_traces = self.record_stack_traces, False
            for m, path in [(root, "")] + [(c, n) for n, c in root.named_children()]:
                for name, value in list(m._parameters.items()) + list(m._buffers.items()):
                    if value is not None and name not in m.__dict__:
                        patched.append((m, name, _ABSENT))
                        m.__dict__[name] = self.create_proxy("get_attr", f"{path}.{name}".lstrip("."), (), {})
            self.record_stack_traces = record
            out = self._call_forward(root)
        finally:
            for m, name, old in reversed(patched):
                if old is _ABSENT:
                    m.__dict__.pop(name, None)
                else:
                    m.__dict__[name] = old
        self.create_node("output", "output", (self.create_arg(out),), {})
        return self.graph

    def _stub(self, module: torch.nn.Module, path: str) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if not self.outputs.get(id(module)):  # `module.forward(...)` called directly (no hooks ran when the
                return type(module).forward(module, *args, **kwargs)  # model ran): traced through
            return self.create_proxy("call_module", path, args, kwargs)
        return call

    def _call_forward(self, root: torch.nn.Module) -> Any:
        """forward(...) with one placeholder per argument holding tensors (a list of tensors is one input); the
        other arguments fixed (empty *args / **kwargs: ignored)."""
        sig = self.bound.signature
        given: Dict[str, Any] = {}
        for name, value in self.bound.arguments.items():
            if has_tensor(value):
                given[name] = self.create_proxy("placeholder", name, (), {})
            elif sig.parameters[name].kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD) \
                    and not value:
                given[name] = value
            else:
                given[name] = self.fixed[name] = value
        args: List[Any] = []
        kwargs: Dict[str, Any] = {}
        for name, p in sig.parameters.items():
            if name not in given:
                continue
            value, real = given[name], self.bound.arguments[name]
            if p.kind is p.VAR_POSITIONAL:
                args.extend(value[i] for i in range(len(real)))
            elif p.kind is p.VAR_KEYWORD:
                kwargs.update({k: value[k] for k in real})
            elif p.kind is p.KEYWORD_ONLY:
                kwargs[name] = value
            else:
                args.append(value)
        return type(root).forward(root, *args, **kwargs)

    def create_arg(self, a: Any) -> Any:
        if _is_proxy(a):
            return a.node
        return super().create_arg(a)

    def value_of(self, obj: Any) -> Any:
        if issubclass(type(obj), Attribute):
            return getattr(self.value_of(obj.root), obj.attr)
        if _is_proxy(obj):
            return self.values[obj.node.name]
        if type(obj) in (list, tuple):
            return type(obj)(self.value_of(o) for o in obj)
        if type(obj) is dict:
            return {k: self.value_of(v) for k, v in obj.items()}
        if type(obj) is slice:
            return slice(self.value_of(obj.start), self.value_of(obj.stop), self.value_of(obj.step))
        return obj

    def create_proxy(self, kind: str, target: Any, args: Tuple[Any, ...], kwargs: Dict[str, Any], name=None,
                     type_expr=None, proxy_factory_fn=None) -> fx.Proxy:
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, proxy_factory_fn)
        self.values[proxy.node.name] = self._run(kind, target, self.value_of(args), self.value_of(kwargs))
        return proxy

    def _run(self, kind: str, target: Any, args: Any, kwargs: Any) -> Any:
        if kind == "placeholder":
            return self.bound.arguments[target]
        if kind == "get_attr":
            return attribute(self.root, target)
        if kind == "call_module":
            module = attribute(self.root_module, target)
            pending = self.outputs.get(id(module))
            if not pending:
                raise UnsupportedError(f"{type(self.root_module).__name__}.forward calls {target} "
                                       "more often while tracing than it did when run")
            return pending.popleft()
        if kind == "call_method":
            return getattr(args[0], target)(*args[1:], **kwargs)
        if kind == "call_function":
            return target(*args, **kwargs)
        return None

    def specialize(self, kind: str, value: Any) -> None:
        where, code = user_location()
        self.specializations.append(Specialization(kind, value, where, code, len(self.graph.nodes)))


def attribute(root: torch.nn.Module, path: str) -> Any:
    """`root.a.b.c` read from the modules' own tables (never through a patched Module.__getattr__)."""
    obj: Any = root
    for part in path.split("."):
        tables = [obj.__dict__.get(t, {}) for t in ("_parameters", "_buffers", "_modules")] \
            if isinstance(obj, torch.nn.Module) else []
        found = next((t for t in tables if part in t), None)
        obj = found[part] if found is not None else getattr(obj, part)
    return obj


def capture(module: torch.nn.Module, args: Tuple[Any, ...], kwargs: Dict[str, Any],
            outputs: List[Tuple[int, Any]]) -> Captured:
    """Trace `module.forward(*args, **kwargs)` one level deep (children are calls whose outputs are `outputs`,
    (id(child), output) in call order, as the real run recorded them), keeping the real values."""
    sig = inspect.signature(module.forward)
    try:
        bound = sig.bind(*args, **kwargs)
    except TypeError as e:
        raise UnsupportedError(f"{type(module).__name__}.forward{sig}: cannot bind the recorded call ({e})") from None
    bound.apply_defaults()
    tracer = ConcreteTracer(module, bound, outputs)
    constants = set(module.__dict__)
    try:
        graph = tracer.run()
    except UnsupportedError:
        raise
    except Exception as e:
        where, code = user_location(traceback.extract_tb(e.__traceback__))
        raise UnsupportedError(f"cannot trace {type(module).__name__}.forward at {where} ({code}): "
                               f"{type(e).__name__}: {e}") from None
    finally:  # fx keeps tensors made during the trace as attributes of the module: take them back off
        made = {k: module.__dict__.pop(k) for k in list(module.__dict__) if k not in constants}
    return Captured(graph, tracer.values, tracer.specializations, sig, tracer.fixed,
                    {k: v for k, v in made.items() if isinstance(v, torch.Tensor)})


@dataclass
class Calls:
    """What one run of the model recorded, keyed by id(module): the first call's (args, kwargs), and the
    (id(child), output) of every module call made directly during that first call, in order."""

    inputs: Dict[int, Tuple[Tuple[Any, ...], Dict[str, Any]]] = field(default_factory=dict)
    children: Dict[int, List[Tuple[int, Any]]] = field(default_factory=dict)


def record_calls(model: torch.nn.Module, inputs: Tuple[Any, ...],
                 traced: Callable[[torch.nn.Module], bool] = lambda m: True) -> Calls:
    """Run `model(*inputs)` once, recording every module's first call (hooks on this model only, removed after);
    the arguments only of the modules that will be `traced`. Each state of a tensor is copied once."""
    calls = Calls()
    stack: List[Tuple[int, bool]] = []  # (id, first call?) of the modules running
    copies: Dict[Tuple[int, int], torch.Tensor] = {}  # (id, version) -> copy: outputs are the next inputs

    def before(module: torch.nn.Module, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        first = id(module) not in calls.inputs
        if first:
            calls.inputs[id(module)] = (_clone(args, copies), _clone(kwargs, copies)) if traced(module) else ((), {})
            calls.children[id(module)] = []
        stack.append((id(module), first))

    def after(module: torch.nn.Module, args: Tuple[Any, ...], output: Any) -> None:
        stack.pop()
        if stack and stack[-1][1]:
            calls.children[stack[-1][0]].append((id(module), _clone(output, copies)))

    handles = [h for m in model.modules() for h in (m.register_forward_pre_hook(before, with_kwargs=True),
                                                     m.register_forward_hook(after))]
    try:
        with torch.no_grad():
            model(*inputs)
    finally:
        for h in handles:
            h.remove()
    return calls


def _clone(v: Any, copies: Dict[Tuple[int, int], torch.Tensor]) -> Any:
    """A copy safe from later in-place ops of the model (one per tensor state: id and version counter)."""
    if isinstance(v, torch.Tensor):
        key = (id(v), v._version)
        if key not in copies:
            copies[key] = v.detach().clone()
            weakref.finalize(v, copies.pop, key, None)  # the id may be reused once `v` is gone
        return copies[key]
    if isinstance(v, (tuple, list)):
        items = [_clone(a, copies) for a in v]
        return type(v)(*items) if hasattr(v, "_fields") else type(v)(items)
    if isinstance(v, dict):
        return type(v)((k, _clone(a, copies)) for k, a in v.items())
    return v
