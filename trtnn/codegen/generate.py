"""generate(): capture every module of a torch model, emit its class, settle the classes, write the file."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import torch

from ..errors import ConfigError, UnsupportedError
from .capture import Calls, capture, record_calls
from .classes import ClassTable, Instance, render_class
from .format import tidy
from .forward import ForwardEmitter, Unmapped, node_location, short_path
from .constructor import container_kind, init_code, loaded_buffers
from .mapping import is_torch_layer
from .template import Code


@dataclass
class GeneratedCode:
    """The generated source, what could not be mapped (op and file:line), and the classes in it."""

    source: str
    unmapped: List[Unmapped] = field(default_factory=list)
    classes: List[str] = field(default_factory=list)
    root: str = ""
    buffers: List[str] = field(default_factory=list)  # non-persistent buffers loaded with the weights
    specialized: List[str] = field(default_factory=list)  # `file:line: what` of every value the example fixed


def generate_code(model: torch.nn.Module, example_inputs: Any, *, class_name: Optional[str] = None) -> GeneratedCode:
    """Trace `model(*example_inputs)` and write an editable trtnn module file (see `generate`)."""
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"codegen: expected a torch.nn.Module, got {type(model).__name__}")
    if container_kind(model) != "Sequential" and (is_torch_layer(model) or container_kind(model)):
        raise ConfigError(f"codegen: {type(model).__name__} is a torch.nn layer or a container without forward; "
                          "generate code for the model class that uses it (trtnn.nn already has the layers it maps)")
    if class_name is not None and not (isinstance(class_name, str) and class_name.isidentifier()):
        raise ConfigError(f"codegen: class_name must be a Python identifier, got {class_name!r}")
    inputs = tuple(example_inputs) if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    bad = [type(x).__name__ for x in inputs if not isinstance(x, torch.Tensor)]
    if bad or not inputs:
        raise ConfigError(f"codegen: example_inputs must be torch tensors (one per forward argument), got "
                          f"{', '.join(bad) or 'none'}")
    training = model.training
    model.eval()
    try:
        try:
            calls = record_calls(model, inputs, lambda m: m is model or not (is_torch_layer(m) or container_kind(m)))
        except Exception as e:  # noqa: BLE001  (the user's model failed on the given inputs)
            shapes = ", ".join("x".join(map(str, x.shape)) for x in inputs)
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            raise ConfigError(f"codegen: {type(model).__name__} fails on example inputs of shape {shapes}: "
                              f"{type(e).__name__}: {first}") from None
        unmapped: List[Unmapped] = []
        table = ClassTable()
        _visit(model, calls, table, unmapped, _optional_children(model), class_name)
        table.finish()
    finally:
        model.train(training)
    unmapped = list({(u.op, u.where): u for u in unmapped}.values())
    root = table.of[id(model)]
    classes = [render_class(c, table, _origin(c.type)) for c in table.classes]
    args = ", ".join(f"{name}={v!r}" for v, name in table.arguments_of(model))
    buffers = loaded_buffers(model)
    source = tidy(_file(model, inputs, unmapped, classes, root.cls.name, args, buffers))
    compile(source, "<trtnn codegen>", "exec")  # a syntax error here would be a codegen bug: fail now, not later
    specialized = list(dict.fromkeys(m.group(1) for m in re.finditer(r"# specialized at trace time \((.*)$", source,
                                                                       re.M)))
    return GeneratedCode(source, unmapped, [c.name for c in table.classes], root.cls.name, buffers, specialized)


def generate(model: torch.nn.Module, example_inputs: Any, *, class_name: Optional[str] = None) -> str:
    """trtnn source code for a torch model: one class per distinct module type (constructor arguments where
    instances differ), trtnn.nn layers for torch layers, the original attribute names (so the original
    state_dict loads with strict=True), forward() as F.* calls and Tensor methods in the original order.

    Shape-dependent Python control flow takes the example's branch and is marked with a comment. Ops trtnn cannot
    emit become `unsupported(...)` / `UnsupportedModule(...)` placeholders that raise UnsupportedError at define
    time; they are listed (with the file:line calling them) at the top of the file."""
    return generate_code(model, example_inputs, class_name=class_name).source


def _optional_children(model: torch.nn.Module) -> Dict[type, List[str]]:
    """Per module type: the children that are None in some instances and a module in others (ResNet's
    `downsample`; torch keeps a None child as a plain attribute)."""
    instances: Dict[type, List[torch.nn.Module]] = {}
    for m in model.modules():
        instances.setdefault(type(m), []).append(m)
    out = {}
    for t, ms in instances.items():
        names = list(dict.fromkeys(n for m in ms for n in m._modules))
        kinds = {n: {"module" if m._modules.get(n) is not None else
                     "none" if n in m._modules or (n in m.__dict__ and m.__dict__[n] is None) else "absent"
                     for m in ms} for n in names}
        out[t] = [n for n in names if kinds[n] == {"module", "none"}]
    return out


def _visit(module: torch.nn.Module, calls: Calls, table: ClassTable, unmapped: List[Unmapped],
           optional: Dict[type, List[str]], name: Optional[str] = None) -> None:
    """Children first (their classes must exist before the parent's code is keyed), then the module itself."""
    for child in _user_children(module):
        if id(child) not in table.of:
            _visit(child, calls, table, unmapped, optional)
    opt = optional.get(type(module), [])
    where: Dict[str, str] = {}
    forward = normalized = Code()
    if id(module) not in calls.inputs:
        forward.text(f"    def forward(self, *args):\n        raise UnsupportedError({_never_called(module)!r})\n")
    else:
        try:
            cap = capture(module, *calls.inputs[id(module)], calls.children[id(module)])
        except UnsupportedError as e:
            unmapped.append(Unmapped(f"{type(module).__name__}.forward", str(e)))
            forward.text(f"    def forward(self, *args):\n        raise UnsupportedError({e.message!r})\n")
        else:
            for node in cap.graph.nodes:
                if node.op == "call_module":
                    where.setdefault(node.target.split(".")[0], short_path(node_location(node)))
            forward = ForwardEmitter(module, cap, unmapped, opt).emit()
            normalized = ForwardEmitter(module, cap, [], opt, normalized=True).emit() if opt else forward
    init, passed = init_code(module, where, unmapped, opt)
    table.add(Instance(module, init, forward, normalized, passed), name)


def _user_children(module: torch.nn.Module) -> List[torch.nn.Module]:
    """Children that get generated classes, looking through containers."""
    out = []
    for child in module._modules.values():
        if child is None:
            continue
        if container_kind(child):
            out += _user_children(child)
        elif not is_torch_layer(child):
            out.append(child)
    return out


def _never_called(module: torch.nn.Module) -> str:
    return f"{type(module).__name__}.forward was not called while tracing: write it by hand"


def _origin(t: type) -> str:
    return f"Generated from {t.__module__}.{t.__qualname__}."


def _file(model: torch.nn.Module, inputs: Sequence[torch.Tensor], unmapped: List[Unmapped], classes: List[str],
          root: str, args: str, buffers: List[str]) -> str:
    shapes = ", ".join("x".join(map(str, x.shape)) for x in inputs)
    head = [f'"""{root}: trtnn code generated by `trtnn codegen` from {_origin(type(model))[15:-1]} '
            f"(example inputs {shapes}).", "",
            "Edit freely: attribute names are the original's, so its state_dict loads with strict=True.",
            "Numbers fixed by the example inputs' shapes are marked `specialized at trace time`."]
    if buffers:
        head += ["", "Buffers the original computes itself (non-persistent) that are ordinary buffers here: load them "
                 "with the weights", "(trtnn.codegen.full_state_dict(torch_model)): " + ", ".join(buffers)]
    if unmapped:
        head += ["", "Not mapped yet (define() raises UnsupportedError until they are replaced):"]
        head += [f"  - {u.op}  at {u.where}" for u in unmapped]
    body = "\n\n".join(classes)
    imports = ["import torch", "", "import trtnn.functional as F", "import trtnn.nn as nn"]
    if "OrderedDict(" in body:
        imports.insert(0, "from collections import OrderedDict")
    if "math." in body:
        imports.insert(0, "import math")
    names = [n for n in ("UnsupportedModule", "unsupported") if f"{n}(" in body]
    if names:
        imports.append(f"from trtnn.codegen.placeholder import {', '.join(names)}")
    if "UnsupportedError(" in body:
        imports.append("from trtnn.errors import UnsupportedError")
    factory = (f"def make_model() -> {root}:\n    \"\"\"The traced model's configuration; load the original "
               f"state_dict into it (strict=True).\"\"\"\n    return {root}({args})\n")
    return "\n".join(head) + '\n"""\n' + "\n".join(imports) + "\n\n\n" + body + "\n\n" + factory
