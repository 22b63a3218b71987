"""Module instances -> generated classes: instances of one type with the same code share a class, the numbers that
differ between them (or equal one of the module's constructor attributes) become constructor arguments."""
from __future__ import annotations

import inspect
import keyword
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch

from ..errors import UnsupportedError
from .constructor import container_base
from .mapping import same
from .template import ChildRef, Code, LayerCall, Slot, is_slot_value, literal

_RESERVED = {"self", "torch", "trtnn", "nn", "F", "math", "operator", "OrderedDict", "unsupported",
             "UnsupportedModule", "make_model", "super"}


@dataclass
class Instance:
    """One module of the model with its code (slots still open)."""

    module: torch.nn.Module
    init: Code
    forward: Code
    normalized: Code  # forward as an instance without its optional children would read (the class key)
    passed: Dict[str, Optional[Code]] = field(default_factory=dict)  # optional child -> its constructor code
    cls: Optional["GeneratedClass"] = None


@dataclass
class GeneratedClass:
    name: str
    type: type
    instances: List[Instance] = field(default_factory=list)
    params: List[str] = field(default_factory=list)
    slot_param: List[Optional[int]] = field(default_factory=list)  # flat slot -> parameter index (None: literal)
    variant: int = 1

    def arguments(self, flat: List[Tuple[Any, str]]) -> List[Tuple[Any, str]]:
        """(value, name) of each constructor parameter, given an instance's flat slots."""
        out: List[Tuple[Any, str]] = [(None, p) for p in self.params]
        for (value, _), k in zip(flat, self.slot_param):
            if k is not None:
                out[k] = (value, self.params[k])
        return out


class ClassTable:
    """Assigns instances to classes (call `add` children first), then settles parameters (`finish`)."""

    def __init__(self) -> None:
        self.classes: List[GeneratedClass] = []
        self._by_key: Dict[Any, List[GeneratedClass]] = {}
        self.of: Dict[int, Instance] = {}

    def add(self, inst: Instance, name: Optional[str] = None) -> None:
        key = (type(inst.module), _structure(inst.init, self), _structure(inst.normalized, self))
        # one class renders the instance with the most optional children: the others' must be among them
        present = _present(inst)
        cls = next((c for c in self._by_key.get(key, []) if all(
            present <= _present(i) or _present(i) <= present for i in c.instances)), None)
        if cls is None:
            variants = [c for c in self.classes if c.type is type(inst.module)]
            base = name or type(inst.module).__name__
            cls = GeneratedClass(self._unique_name(base + (str(len(variants) + 1) if variants else "")),
                                 type(inst.module), variant=len(variants) + 1)
            self._by_key.setdefault(key, []).append(cls)
            self.classes.append(cls)
        cls.instances.append(inst)
        inst.cls = cls
        self.of[id(inst.module)] = inst

    def _unique_name(self, name: str) -> str:
        taken = {c.name for c in self.classes} | _RESERVED
        out, i = name, 2
        while out in taken:
            out, i = f"{name}_{i}", i + 1
        return out

    def finish(self) -> None:
        for cls in self.classes:  # children's classes come first (instances were added children first)
            _settle_parameters(cls, self)

    def arguments_of(self, module: torch.nn.Module) -> List[Tuple[Any, str]]:
        inst = self.of[id(module)]
        return inst.cls.arguments(_flat_slots(inst, self))

    def render_child(self, module: torch.nn.Module, args: List[str]) -> str:
        return f"{self.of[id(module)].cls.name}({', '.join(args)})"


def _present(inst: Instance) -> set:
    return {n for n, c in inst.passed.items() if c is not None}


def _structure(code: Code, table: ClassTable) -> Tuple[Any, ...]:
    out: List[Any] = []
    for p in code.parts:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, Slot):
            out.append(("slot", type(p.value)))
        elif isinstance(p, LayerCall):
            out.append(("layer", p.kind) + tuple((name, required, ("slot", type(v)) if is_slot_value(v) else literal(v))
                                                 for name, v, _, required in p.args))
        else:
            child = table.of[id(p.module)]
            out.append(("child", child.cls.name, tuple((n, c and _structure(c, table)) for n, c in child.passed.items())))
    return tuple(out)


def _flat_slots(inst: Instance, table: ClassTable) -> List[Tuple[Any, str]]:
    """Every number of the instance's code in order; a child's constructor arguments count as its numbers."""
    out: List[Tuple[Any, str]] = []
    for code in (inst.init, inst.forward):
        for p in code.parts:
            if isinstance(p, Slot):
                out.append((p.value, p.hint))
            elif isinstance(p, LayerCall):
                out.extend((v, name) for name, v, _, _ in p.args if is_slot_value(v))
            elif isinstance(p, ChildRef):
                out.extend(_child_slots(p.module, table))
    return out


def _child_slots(module: torch.nn.Module, table: ClassTable) -> List[Tuple[Any, str]]:
    """A child's constructor arguments, then the numbers in the constructor code of its optional children."""
    out = list(table.arguments_of(module))
    for code in table.of[id(module)].passed.values():
        if code is not None:
            out.extend(_flat_slots(Instance(module, code, Code(), Code()), table))
    return out


def _attributes(module: torch.nn.Module) -> Dict[str, Any]:
    """Numbers the module keeps as attributes, constructor arguments first (`dim`, `num_heads`, `stride` ...)."""
    names = [n for n in inspect.signature(type(module).__init__).parameters if n != "self"]
    names += [n for n in vars(module) if not n.startswith("_")]
    return {n: module.__dict__[n] for n in names if n in module.__dict__ and is_slot_value(module.__dict__[n])}


def _settle_parameters(cls: GeneratedClass, table: ClassTable) -> None:
    flats = [_flat_slots(i, table) for i in cls.instances]
    attrs = [_attributes(i.module) for i in cls.instances]
    reserved = set(_RESERVED) | {n for i in cls.instances for n in list(i.module._modules) +
                                 list(i.module._parameters) + list(i.module._buffers)}
    by_values: Dict[Tuple[Any, ...], int] = {}
    in_init = _count_slots(cls.instances[0].init, table)
    for j in range(len(flats[0]) if flats else 0):
        values = tuple((type(f[j][0]), f[j][0]) for f in flats)
        varying = len(set(values)) > 1
        names = [n for n in attrs[0] if all((type(a.get(n)), a.get(n)) == v for a, v in zip(attrs, values))]
        attr = names[0] if len(names) == 1 else None
        hint = flats[0][j][1]
        # a number that is the same everywhere stays literal, unless it is a constructor argument the module also
        # keeps under the same name (`dim`, `stride`): coincidences must not turn a dim index into `self.stride`
        if not varying and not (j < in_init and hint in attrs[0] and all(a.get(hint) == v[1]
                                                                        for a, v in zip(attrs, values))):
            cls.slot_param.append(None)
            continue
        if not varying:
            attr = hint
        if values not in by_values:
            by_values[values] = len(cls.params)
            cls.params.append(_fresh(attr or flats[0][j][1], set(cls.params) | reserved))
        cls.slot_param.append(by_values[values])


def _fresh(hint: str, taken: set) -> str:
    name = re.sub(r"\W", "_", hint).strip("_") or "arg"
    name = "_" + name if name[0].isdigit() else name
    out, i = name, 2
    while out in taken or keyword.iskeyword(out):
        out, i = f"{name}_{i}", i + 1
    return out


def _representative(cls: GeneratedClass) -> Instance:
    """The instance whose code is rendered: the one with its optional children (None in others) present."""
    inst = max(cls.instances, key=lambda i: sum(c is not None for c in i.passed.values()))
    missing = {n for i in cls.instances for n, c in i.passed.items() if c is not None and inst.passed[n] is None}
    if missing:
        raise UnsupportedError(f"codegen: instances of {cls.type.__name__} leave out different optional children "
                               f"({', '.join(sorted(missing))}); no single class covers them")
    return inst


def render_class(cls: GeneratedClass, table: ClassTable, origin: str) -> str:
    inst = _representative(cls)
    flat_len = len(cls.slot_param)
    used_in_forward = set()
    init_slots = _count_slots(inst.init, table)
    for j in range(init_slots, flat_len):
        if cls.slot_param[j] is not None:
            used_in_forward.add(cls.slot_param[j])
    doc = f'    """{origin}'
    if cls.variant > 1:
        doc += f" (variant {cls.variant}: its traced code differs from {cls.type.__name__}'s)"
    lines = [f"class {cls.name}(nn.{container_base(inst.module) or 'Module'}):", doc + '"""', "",
             f"    def __init__(self{''.join(', ' + p for p in cls.params)}"
             f"{''.join(f', {n}=None' for n in inst.passed)}):"]
    body, pos = _render(inst.init, cls, table, 0, in_forward=False)
    if body.strip():
        lines.append(body.rstrip("\n"))
    for k in sorted(used_in_forward):
        lines.append(f"        self.{cls.params[k]} = {cls.params[k]}")
    fwd, _ = _render(inst.forward, cls, table, pos, in_forward=True)
    return "\n".join(lines) + "\n\n" + fwd


def _count_slots(code: Code, table: ClassTable) -> int:
    n = 0
    for p in code.parts:
        if isinstance(p, Slot):
            n += 1
        elif isinstance(p, LayerCall):
            n += sum(1 for _, v, _, _ in p.args if is_slot_value(v))
        elif isinstance(p, ChildRef):
            n += len(_child_slots(p.module, table))
    return n


def _render(code: Code, cls: GeneratedClass, table: ClassTable, pos: int, in_forward: bool) -> Tuple[str, int]:
    out: List[str] = []

    def slot_text(value: Any) -> str:
        nonlocal pos
        k = cls.slot_param[pos]
        pos += 1
        if k is None:
            return literal(value)
        return f"self.{cls.params[k]}" if in_forward else cls.params[k]

    for p in code.parts:
        if isinstance(p, str):
            out.append(p)
        elif isinstance(p, Slot):
            out.append(slot_text(p.value))
        elif isinstance(p, LayerCall):
            args = []
            for name, value, default, required in p.args:
                is_param = is_slot_value(value) and cls.slot_param[pos] is not None
                text = slot_text(value) if is_slot_value(value) else literal(value)
                if required or is_param or not same(value, default):
                    args.append(text if required else f"{name}={text}")
            out.append(f"nn.{p.kind}({', '.join(args)})")
        else:
            args = [slot_text(v) for v, _ in table.arguments_of(p.module)]
            for name, child_code in table.of[id(p.module)].passed.items():
                if child_code is not None:
                    text, pos = _render(child_code, cls, table, pos, in_forward)
                    args.append(f"{name}={text}")
            out.append(table.render_child(p.module, args))
    return "".join(out), pos
