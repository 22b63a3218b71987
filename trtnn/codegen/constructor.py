"""The constructor side of generated code: `__init__` of a module and the expression that builds each child
(trtnn.nn layers with the torch layer's arguments, containers, generated classes, placeholders)."""
from __future__ import annotations

import keyword
from typing import Dict, List, Optional, Sequence, Tuple

import torch

from .constants import recipe
from .forward import Unmapped
from .mapping import CONTAINERS, is_torch_layer, layer_arguments, missing_arguments, trtnn_layer
from .template import Code


def init_code(module: torch.nn.Module, where: Dict[str, str], unmapped: List[Unmapped],
              optional: Sequence[str] = ()) -> Tuple[Code, Dict[str, Optional[Code]]]:
    """`def __init__` body of a generated class (without the signature): own weights, then children; and the
    constructor code of each `optional` child (None in other instances of the type): those are constructor
    arguments of the class, built by the parent. A torch container subclass passes its children to its base."""
    code, passed = Code(), {}
    base = container_base(module)
    if base:
        code.text("        super().__init__(").extend(_items(module, where, unmapped, 2)).text(")\n")
    else:
        code.text("        super().__init__()\n")
    for name, p in module._parameters.items():
        if p is None:
            code.text(f"        self.register_parameter({name!r}, None)\n")
            continue
        _shape(code.text(f"        self.{name} = nn.Parameter("), tuple(p.shape), name)
        code.text(f", {p.dtype})\n" if p.dtype != torch.float32 else ")\n")
    for name, b in module._buffers.items():
        code.text(f"        self.register_buffer({name!r}, ")
        made = None if b is None or name not in module._non_persistent_buffers_set else recipe(b)
        if b is None:
            code.text("None)\n")
        elif made is not None:
            code.text(f"{made}, persistent=False)\n")
        else:  # persistent, or values the code cannot make: loaded with the state_dict (see full_state_dict)
            _shape(code.text("torch.zeros("), tuple(b.shape), name).text(f", dtype={b.dtype}))\n")
    for name, child in module._modules.items():
        if name not in optional and not base:
            head = f"        self.{name} = " if name.isidentifier() and not keyword.iskeyword(name) else \
                f"        self.add_module({name!r}, "
            code.text(head).extend(child_code(child, where.get(name, "?"), unmapped, 2))
            code.text("\n" if head.endswith("= ") else ")\n")
    for name in optional:  # last, in one order for every instance
        child = module._modules.get(name)
        code.text(f"        self.{name} = {name}\n")
        passed[name] = None if child is None else child_code(child, where.get(name, "?"), unmapped, 3)
    return code, passed


def _shape(code: Code, shape: Tuple[int, ...], name: str) -> Code:
    """`(a, b)` with each size a slot (so `(num_features,)` can become a constructor argument)."""
    code.text("(")
    for i, d in enumerate(shape):
        code.text(", " if i else "").value(d, f"{name}_size{i}" if len(shape) > 1 else f"{name}_size")
    return code.text("," if len(shape) == 1 else "").text(")")


def loaded_buffers(model: torch.nn.Module) -> List[str]:
    """Non-persistent buffers of `model` the generated code cannot make (no short recipe): it registers them as
    ordinary buffers, loaded with the weights (trtnn.codegen.full_state_dict)."""
    return [f"{path}.{name}".lstrip(".") for path, m in model.named_modules() for name, b in m._buffers.items()
            if b is not None and name in m._non_persistent_buffers_set and recipe(b) is None]


def child_code(child: torch.nn.Module, where: str, unmapped: List[Unmapped], depth: int) -> Code:
    """The expression constructing `child`."""
    if child is None:
        return Code().text("None")
    kind = type(child).__name__
    if container_kind(child):
        return _container(child, where, unmapped, depth)
    if not is_torch_layer(child):
        return Code().child(child)
    layer = trtnn_layer(child)
    args, unknown = layer_arguments(child)
    problem = (f"trtnn.nn has no {kind}" if layer is None else
               f"cannot read {kind} argument(s) {', '.join(unknown)}" if unknown else
               f"trtnn.nn.{kind} lacks argument(s) {', '.join(missing_arguments(layer, args))}"
               if missing_arguments(layer, args) else "")
    if problem:
        unmapped.append(Unmapped(f"torch.nn.{kind} ({problem})", where))
        return Code().text(f"UnsupportedModule('torch.nn.{kind}', {where!r}, {_state_shapes(child)!r})")
    return Code().layer(kind, args)


def container_base(module: torch.nn.Module) -> str:
    """'Sequential', 'ModuleList' or 'ModuleDict' for any instance of those (the base of its generated class)."""
    return next((kind for kind in CONTAINERS if isinstance(module, getattr(torch.nn, kind))), "")


def container_kind(module: torch.nn.Module) -> str:
    """'Sequential', 'ModuleList' or 'ModuleDict' for those containers (subclasses without their own forward
    too), else ''."""
    for kind in CONTAINERS:
        base = getattr(torch.nn, kind)
        if isinstance(module, base) and getattr(type(module), "forward", None) is getattr(base, "forward", None):
            return kind
    return ""


def _container(child: torch.nn.Module, where: str, unmapped: List[Unmapped], depth: int) -> Code:
    return Code().text(f"nn.{container_kind(child)}(").extend(_items(child, where, unmapped, depth)).text(")")


def _items(child: torch.nn.Module, where: str, unmapped: List[Unmapped], depth: int) -> Code:
    """The constructor argument of a container: its children."""
    kind = container_base(child)
    items = list(child._modules.items())
    pad, inner = "    " * depth, "    " * (depth + 1)
    numbered = all(name == str(i) for i, (name, _) in enumerate(items))
    code = Code()
    if kind == "Sequential" and not numbered:
        code.text("OrderedDict([")
    elif kind == "ModuleList":
        code.text("[")
    elif kind == "ModuleDict":
        code.text("{")
    for name, mod in items:
        code.text("\n" + inner)
        if kind == "ModuleDict":
            code.text(f"{name!r}: ")
        elif kind == "Sequential" and not numbered:
            code.text(f"({name!r}, ")
        code.extend(child_code(mod, where, unmapped, depth + 1))
        code.text(")," if kind == "Sequential" and not numbered else ",")
    closing = {"ModuleList": "]", "ModuleDict": "}"}.get(kind, "])" if not numbered else "")
    if items:
        code.text("\n" + pad)
    return code.text(closing)


def _state_shapes(module: torch.nn.Module) -> Dict[str, tuple]:
    """{key: (shape, dtype name, is_parameter)} of a module's state_dict entries."""
    params = {k for k, _ in module.named_parameters()}
    return {k: (tuple(v.shape), str(v.dtype).replace("torch.", ""), k in params) for k, v in module.state_dict().items()}
