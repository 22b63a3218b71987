"""One captured forward -> the body of a trtnn forward(): statements in the original order, fx's node names as
variables, F.* calls and Tensor methods; shape arithmetic inline, the sizes of network tensors read with
`F.sym_size` / `F.sym_shape` (Python ints where static, runtime values where dynamic)."""
from __future__ import annotations

import inspect
import keyword
import operator
import os
import re
import string
import sys
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

import torch
import torch.fx as fx

from .capture import Captured, has_tensor, user_location
from .constants import recipe
from .mapping import (
    BINARY,
    TENSOR_OPERATORS,
    UNARY,
    qualified_name,
    trtnn_function,
    trtnn_method,
)
from .rewrite import rewrite
from .template import Code, is_slot_value, literal

# trtnn.functional ops whose weight arguments may be a trtnn.Parameter as is
_WEIGHT_TAKERS = {"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
                  "batch_norm", "layer_norm", "group_norm", "instance_norm", "embedding", "prelu", "rms_norm"}
_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


@dataclass
class Unmapped:
    """An op or module trtnn cannot emit: what it is and where the user's code calls it."""

    op: str
    where: str


def node_location(node: fx.Node) -> str:
    """file:line of the user's code that made `node` (from fx's recorded stack)."""
    frames = _FRAME.findall(node.stack_trace or "")
    stack = [_Frame(f, int(n)) for f, n in frames]
    return user_location(stack)[0] if stack else "?"


class _Frame:  # the part of traceback.FrameSummary that user_location reads
    def __init__(self, filename: str, lineno: int) -> None:
        self.filename, self.lineno, self.line = filename, lineno, None


def short_path(where: str) -> str:
    """A location relative to the import root that holds it (stable across machines), else as is."""
    path, _, line = where.rpartition(":")
    roots = sorted((os.path.abspath(p) for p in sys.path if p and os.path.isdir(p)), key=len, reverse=True)
    for root in roots:
        if os.path.abspath(path).startswith(root + os.sep):
            return os.path.relpath(os.path.abspath(path), root) + ":" + line
    return where


class ForwardEmitter:
    """Emit `def forward` of one module from its Captured graph."""

    def __init__(self, module: torch.nn.Module, captured: Captured, unmapped: List[Unmapped],
                 optional: Sequence[str] = (), normalized: bool = False) -> None:
        """`optional`: children that are None in other instances of the type; their calls are emitted as
        `y = self.c(x) if self.c is not None else x`, or (`normalized`) left out, `y` read as `x` (the code an
        instance without the child has, to check that both share one class)."""
        self.module, self.cap, self.unmapped = module, captured, unmapped
        self.optional, self.normalized = optional, normalized
        self.nodes = list(captured.graph.nodes)
        self.kind: Dict[str, str] = {}
        self.like: Optional[str] = None
        self.live = self._live()
        self.mutated = {n.args[0] for n in self.nodes
                        if n.target is operator.setitem and isinstance(n.args[0], fx.Node)}

    # ---- analysis ----------------------------------------------------------------------------------------
    def _live(self) -> Set[fx.Node]:
        """Nodes the output needs, module calls, and in-place writes (`a[i] = v`, `x.masked_fill_(...)`)."""
        keep: Set[fx.Node] = set()
        todo = [n for n in self.nodes if n.op in ("output", "call_module") or n.target is operator.setitem
                or n.op == "call_method" and n.target.endswith("_") and not n.target.endswith("__")]
        while todo:
            n = todo.pop()
            if n not in keep:
                keep.add(n)
                todo.extend(n.all_input_nodes)
        return keep

    def _value(self, n: fx.Node) -> Any:
        """The traced value; fx's own constants (`_tensor_constant0`) were attached to the module, not traced."""
        if n.name not in self.cap.values and n.op == "get_attr":
            self.cap.values[n.name] = self.cap.constants[n.target]
        return self.cap.values.get(n.name)

    def _classify(self, n: fx.Node) -> str:
        """'net' (a tensor of the network), 'param' (computed from parameters alone: at define time, with torch, on
        their values), 'torch' (a define-time torch value) or 'py' (a Python value)."""
        value = self._value(n)
        if n.op == "placeholder":
            return "net" if has_tensor(value) else "py"
        if n.op == "get_attr":
            self.pure.add(n)
            return "net" if isinstance(value, torch.nn.Parameter) else "torch" if isinstance(value, torch.Tensor) else "py"
        inputs = n.all_input_nodes
        if n.op != "call_module" and all(i in self.pure for i in inputs):
            self.pure.add(n)
            if has_tensor(value) and any(self.kind[i.name] in ("net", "param") for i in inputs):
                return "param"
        if not has_tensor(value):
            return "py"
        if n.op == "call_module" or any(self.kind.get(i.name) == "net" for i in inputs):
            return "net"
        return "torch"

    # ---- emission ----------------------------------------------------------------------------------------
    def emit(self) -> Code:
        self.pure: Set[fx.Node] = set()  # nodes computed from parameters, buffers and constants alone
        self.user: Optional[fx.Node] = None  # the node being emitted
        for n in self.nodes:
            self.kind[n.name] = self._classify(n)
        tensors = [n.name for n in self.nodes if n.op == "placeholder" and self.kind[n.name] == "net"]
        self.like = tensors[0] if tensors else None
        code = Code().text(f"    def forward(self, {self._signature()}):\n")
        if self.cap.fixed:
            code.text(_fixed_comment(self.module, self.cap.fixed))
        specs, k, said = list(self.cap.specializations), 0, set()
        emitted: Set[fx.Node] = set()
        loops = self._loops()
        self.alias.update({n.name: n.target for n in self.nodes if n.op == "placeholder"})
        for i, n in enumerate(self.nodes):
            while k < len(specs) and specs[k].before <= i:
                comment = _specialized_comment(specs[k])
                if comment not in said:  # a loop repeats its decisions: say each once
                    code.text(comment)
                    said.add(comment)
                k += 1
            if n not in self.live or n.op == "placeholder" or (self._inlined(n) and n.target is not operator.setitem):
                continue
            if n.op == "get_attr":
                continue  # emitted before its first use
            for a in (self._attrs_of(r) for r in (loops[n][1] if n in loops else [n])):
                for attr in a:
                    if attr not in emitted:
                        emitted.add(attr)
                        code.text(f"        {attr.name} = ").extend(self._expr(attr)).text("\n")
            if n in loops:
                self._emit_loop(code, *loops[n])
            elif n in self.looped:
                continue
            elif n.op == "output":
                code.text("        return ").extend(self._arg(n.args[0], "out")).text("\n")
            elif n.target is operator.setitem:
                code.text("        ").extend(self._ref(n.args[0])).text("[").extend(self._index(n.args[1], n.name))
                code.text("] = ").extend(self._arg(n.args[2], n.name)).text("\n")
            else:
                code.text(f"        {n.name} = ").extend(self._expr(n)).text("\n")
        return code

    def _attrs_of(self, n: fx.Node) -> List[fx.Node]:
        """The get_attr statements `n` reads (directly or through the expressions inlined into it)."""
        out, todo, seen = [], list(n.all_input_nodes), set()
        while todo:
            i = todo.pop(0)
            if i in seen:
                continue
            seen.add(i)
            if i.op == "get_attr" and not self._inlined(i):
                out.append(i)
            elif i.op != "placeholder" and self._inlined(i):
                todo.extend(i.all_input_nodes)
        return out

    def _loops(self) -> Dict[fx.Node, Tuple[str, List[fx.Node]]]:
        """Calls of every module of a ModuleList in order, each on the previous one's output (and nothing else
        using it): emitted as `for block in self.blocks:`. First node -> (list attribute, the calls)."""
        loops, self.looped, self.alias = {}, set(), {}
        calls = [n for n in self.nodes if n.op == "call_module" and n in self.live]
        i = 0
        while i < len(calls):
            head, _, index = calls[i].target.rpartition(".")
            owner = _submodule(self.module, head) if head else None
            if not isinstance(owner, torch.nn.ModuleList) or index != "0" or len(owner) < 2:
                i += 1
                continue
            run = calls[i:i + len(owner)]
            if len(run) == len(owner) and all(
                    r.target == f"{head}.{j}" and len(r.args) == 1 and not r.kwargs and
                    (j == 0 or (r.args[0] is run[j - 1] and len(run[j - 1].users) == 1)) for j, r in enumerate(run)):
                loops[run[0]] = (head, run)
                self.looped.update(run)
                i += len(run)
            else:
                i += 1
        return loops

    def _emit_loop(self, code: Code, head: str, run: List[fx.Node]) -> None:
        taken = {n.name for n in self.nodes}
        var = head.replace(".", "_") if head.replace(".", "_") not in taken else run[-1].name
        item = var[:-1] if var.endswith("s") and var[:-1] not in taken else f"{var}_item"
        code.text(f"        {var} = ").extend(self._arg(run[0].args[0], var)).text("\n")
        code.text(f"        for {item} in {_attr_path(head, self.module)}:\n            {var} = {item}({var})\n")
        self.alias[run[-1].name] = var

    def _signature(self) -> str:
        """The original parameters: tensors by name, the others with their traced value as default (marked)."""
        parts: List[str] = []
        star = defaults = False
        for name, p in self.cap.signature.parameters.items():
            if p.kind is p.VAR_POSITIONAL:
                parts.append(f"*{name}")
                star = True
                continue
            if p.kind is p.VAR_KEYWORD:
                parts.append(f"**{name}")
                continue
            if p.kind is p.KEYWORD_ONLY and not star:
                parts.append("*")
                star = True
            if name in self.cap.fixed:
                parts.append(f"{name}={_default_literal(self.cap.fixed[name])}")
            elif p.default is not p.empty or (defaults and not star):
                parts.append(f"{name}=None")
            else:
                parts.append(name)
            defaults = defaults or "=" in parts[-1]
        return ", ".join(parts)

    def _is_optional_call(self, n: fx.Node) -> bool:
        return (n.op == "call_module" and n.target in self.optional and len(n.args) == 1
                and isinstance(n.args[0], fx.Node) and not n.kwargs)

    def _inlined(self, n: fx.Node) -> bool:
        """Python values (shapes, their arithmetic), define-time buffers and picks from tuples read best inline."""
        if self._is_optional_call(n):
            return self.normalized
        if n.op == "get_attr":
            return self.kind[n.name] != "net" or self._weight_only(n)
        if n in self.mutated or (n.op == "call_function" and n.target is operator.getitem and
                                 n.args[0] in self.mutated):
            return False  # a list written to (`features[i] = ...`) is a variable, and reads of it happen in order
        if n.op == "call_function" and n.target is operator.getitem:
            return not isinstance(self.cap.values.get(n.args[0].name if isinstance(n.args[0], fx.Node) else ""),
                                  torch.Tensor) or self.kind[n.name] == "py"
        if self.kind[n.name] != "py" or n.op not in ("call_function", "call_method"):
            return False
        # shape arithmetic reads best inline, unless it is used more than once (then it gets a name)
        simple = n.target in (getattr, operator.getitem) or n.target in ("size", "dim")
        return simple or sum(1 for u in n.users if u in self.live) <= 1

    def _weight_use(self, user: fx.Node, n: fx.Node) -> bool:
        """`n` is the right operand of an operator or a weight of an F op in `user`: a torch tensor will do."""
        if user.op != "call_function" or user.args[:1] == (n,):
            return False
        return user.target in BINARY or trtnn_function(user.target) in _WEIGHT_TAKERS

    def _weight_only(self, n: fx.Node) -> bool:
        """A Parameter used only as a weight of F ops or the right operand of operators: `self.w` as is."""
        for user in n.users:
            if self.kind.get(user.name) == "param":
                continue
            if user.op == "call_function" and user.target is getattr and user.args[1] == "shape":
                continue  # `self.weight.shape`: a trtnn.Parameter has it
            if user.op == "call_function" and user.target in BINARY and user.args[0] is not n:
                continue
            if user.op == "call_function" and trtnn_function(user.target) in _WEIGHT_TAKERS and user.args[0] is not n:
                continue
            return False
        return True

    def _ref(self, n: fx.Node) -> Code:
        user = self.user
        if user is not None and self.kind.get(user.name) == "param" and n.op == "get_attr" and \
                self.kind[n.name] == "net":
            return Code().text(_attr_path(n.target, self.module) + ".data")  # a trtnn.Parameter's value
        if self.kind[n.name] == "param" and user is not None and self.kind.get(user.name) == "net" and not (
                self._weight_use(user, n)):
            return Code().text(f"F.constant({n.name}, {self.like})")
        if user is not None and user.op == "call_module" and self.kind[n.name] == "torch" and \
                isinstance(self._value(n), torch.Tensor):  # a module runs on network tensors: make it one
            return Code().text("F.constant(").extend(self._ref_plain(n)).text(f", {self.like})")
        return self._ref_plain(n)

    def _ref_plain(self, n: fx.Node) -> Code:
        if self._inlined(n) and n.op != "placeholder":
            user = self.user
            e = self._expr(n)
            if n.op == "call_function" and (n.target in BINARY or n.target in UNARY) and _needs_parens(n, user):
                return Code().text("(").extend(e).text(")")
            return e
        return Code().text(self.alias.get(n.name, n.name))

    def _arg(self, a: Any, hint: str) -> Code:
        if isinstance(a, fx.Node):
            return self._ref(a)
        if isinstance(a, (tuple, list)) and not (isinstance(a, tuple) and is_slot_value(a)):
            c = Code().text("(" if isinstance(a, tuple) else "[")
            for i, v in enumerate(a):
                c.text(", " if i else "").extend(self._arg(v, f"{hint}_{i}"))
            return c.text(("," if isinstance(a, tuple) and len(a) == 1 else "") + (")" if isinstance(a, tuple) else "]"))
        if isinstance(a, dict):
            c = Code().text("{")
            for i, (k, v) in enumerate(a.items()):
                c.text(", " if i else "").text(f"{literal(k)}: ").extend(self._arg(v, f"{hint}_{k}"))
            return c.text("}")
        if isinstance(a, slice):
            return self._slice(a, hint, bare=False)
        return Code().value(a, hint)

    def _slice(self, s: slice, hint: str, bare: bool) -> Code:
        if not bare:
            c = Code().text("slice(")
            for i, v in enumerate((s.start, s.stop, s.step)):
                c.text(", " if i else "").extend(self._arg(v, f"{hint}_{i}"))
            return c.text(")")
        c = Code()
        for i, v in enumerate((s.start, s.stop, s.step)):
            if i == 2 and v is None:
                break
            c.text(":" if i else "")
            if v is not None:
                c.extend(self._arg(v, f"{hint}_{i}"))
        return c

    def _index(self, idx: Any, hint: str) -> Code:
        items = idx if isinstance(idx, tuple) else (idx,)
        c = Code()
        for i, v in enumerate(items):
            c.text(", " if i else "")
            c.extend(self._slice(v, f"{hint}_{i}", bare=True) if isinstance(v, slice) else self._arg(v, f"{hint}_{i}"))
        return c

    def _call(self, head: str, args: Any, kwargs: Dict[str, Any], hint: str) -> Code:
        c = Code().text(head + "(")
        first = True
        for i, a in enumerate(args):
            c.text("" if first else ", ").extend(self._arg(a, f"{hint}_{i}"))
            first = False
        for k, v in kwargs.items():
            if head.startswith("F.") and k.startswith("_"):
                continue  # torch's private arguments (`_stacklevel`): nothing to do with the network
            c.text("" if first else ", ").text(f"{k}=").extend(self._arg(v, f"{hint}_{k}"))
            first = False
        return c.text(")")

    def _expr(self, n: fx.Node) -> Code:
        outer, self.user = self.user, n
        try:
            return self._expr_of(n)
        finally:
            self.user = outer

    def _expr_of(self, n: fx.Node) -> Code:
        net = self.kind[n.name] == "net" or (self.kind[n.name] != "param" and any(
            self.kind.get(i.name) == "net" for i in n.all_input_nodes))
        if n.op == "get_attr" and n.target in self.cap.constants:
            return self._constant(n)
        if n.op == "get_attr":
            path = _attr_path(n.target, self.module)
            if self.kind[n.name] == "net" and not self._weight_only(n):
                return Code().text(f"F.constant({path}, {self.like})")
            return Code().text(path) if self.kind[n.name] != "py" else Code().value(self.cap.values[n.name], n.name)
        if self._is_optional_call(n):
            if self.normalized:
                return self._arg(n.args[0], n.name)
            path = _attr_path(n.target, self.module)
            return self._call(path, n.args, {}, n.name).text(f" if {path} is not None else ").extend(
                self._arg(n.args[0], n.name))
        if n.op == "call_module":
            return self._call(_attr_path(n.target, self.module), n.args, n.kwargs, n.name)
        if n.op == "call_method":
            return self._method(n, net)
        return self._function(n, net)

    def _rewritten(self, n: fx.Node, name: str) -> Optional[Code]:
        """The op written with ops trtnn has (trtnn.codegen.rewrite), or None."""
        found = rewrite(name, n.args, n.kwargs)
        if found is None:
            return None
        template, arguments = found
        code = Code()
        for text, field, _, _ in string.Formatter().parse(template):
            code.text(text)
            if field is not None:
                code.extend(self._arg(arguments[field], f"{n.name}_{field}"))
        return code

    def _net_shape(self, n: Any) -> bool:
        """`n` is `x.shape` of a network tensor `x`."""
        return isinstance(n, fx.Node) and n.op == "call_function" and n.target is getattr and \
            n.args[1] == "shape" and isinstance(n.args[0], fx.Node) and self.kind.get(n.args[0].name) == "net"

    def _size(self, x: fx.Node, dim: Any) -> Code:
        """A network tensor's size read at define time (shape-generic: an int where it is static, else its runtime
        value, so the generated network also builds with dynamic dims): `F.sym_size(x, d)`, `F.sym_shape(x)`."""
        if isinstance(dim, int):
            return Code().text("F.sym_size(").extend(self._ref(x)).text(f", {dim})")
        code = Code().text("F.sym_shape(").extend(self._ref(x)).text(")")
        return code if dim is None else code.text("[").extend(self._index(dim, x.name)).text("]")

    def _method(self, n: fx.Node, net: bool) -> Code:
        recv, rest = n.args[0], n.args[1:]
        if n.target == "size" and not n.kwargs and isinstance(recv, fx.Node) and self.kind.get(recv.name) == "net":
            return self._size(recv, rest[0] if rest else None)
        if net and self.kind.get(recv.name if isinstance(recv, fx.Node) else "") == "net":
            how, name = trtnn_method(n.target)
            if how == "function":
                return self._call(f"F.{name}", n.args, n.kwargs, n.name)
            if how is None:
                return self._rewritten(n, n.target) or self._unsupported(n, f"Tensor.{n.target}")
        return self._ref(recv).extend(self._call(f".{n.target}", rest, n.kwargs, n.name))

    def _function(self, n: fx.Node, net: bool) -> Code:
        t = n.target
        if t is getattr and self._net_shape(n):
            return self._size(n.args[0], None)
        if t is getattr:
            return self._ref(n.args[0]).text(f".{n.args[1]}")
        if t is operator.getitem and self._net_shape(n.args[0]) and not isinstance(n.args[1], fx.Node):
            return self._size(n.args[0].args[0], n.args[1])
        if t is operator.getitem:
            return self._ref(n.args[0]).text("[").extend(self._index(n.args[1], n.name)).text("]")
        if t in BINARY or t in UNARY:
            sym = BINARY.get(t) or UNARY[t]
            if net and sym not in TENSOR_OPERATORS:
                return self._unsupported(n, f"operator {sym}")
            if t in UNARY:
                return Code().text(sym).extend(self._arg(n.args[0], n.name))
            return self._arg(n.args[0], f"{n.name}_0").text(f" {sym} ").extend(self._arg(n.args[1], f"{n.name}_1"))
        if net:
            name = trtnn_function(t)
            if name is None:
                return self._rewritten(n, getattr(t, "__name__", "")) or self._unsupported(n, qualified_name(t))
            return self._call(f"F.{name}", n.args, n.kwargs, n.name)
        return self._call(qualified_name(t), n.args, n.kwargs, n.name)

    def _constant(self, n: fx.Node) -> Code:
        """A tensor made during the trace (not a parameter or buffer): its recipe, or reported."""
        value = self.cap.constants[n.target]
        text = recipe(value)
        if text is not None:
            return Code().text(text)
        where = short_path(node_location(next(iter(n.users), n)))
        op = f"a {tuple(value.shape)} {str(value.dtype)[6:]} tensor made at trace time"
        self.unmapped.append(Unmapped(op, where))
        return Code().text(f"unsupported({op!r}, {where!r})()")

    def _unsupported(self, n: fx.Node, op: str) -> Code:
        where = short_path(node_location(n))
        self.unmapped.append(Unmapped(op, where))
        args = n.args[1:] if n.op == "call_method" else n.args
        head = f"unsupported({op!r}, {where!r})"
        return self._call(head, ((n.args[0],) if n.op == "call_method" else ()) + tuple(args), n.kwargs, n.name)


_PRECEDENCE = {"**": 7, "*": 5, "/": 5, "//": 5, "%": 5, "@": 5, "+": 4, "-": 4, "&": 3, "|": 2,
               "==": 1, "!=": 1, "<": 1, "<=": 1, ">": 1, ">=": 1}


def _needs_parens(n: fx.Node, user: Optional[fx.Node]) -> bool:
    """Whether operator expression `n`, inlined into `user`'s code, needs parentheses."""
    if user is None or user.op == "output":
        return False
    if user.op == "call_function" and user.target in BINARY:
        if n.target in UNARY:
            return user.target is operator.pow
        inner, outer = _PRECEDENCE[BINARY[n.target]], _PRECEDENCE[BINARY[user.target]]
        return inner < outer or (inner == outer and (user.args[0] is not n or BINARY[user.target] == "**")) or \
            outer == 1
    if user.op == "call_function" and user.target in UNARY:
        return True
    receiver = user.args[0] is n if user.args else False
    return receiver and (user.op == "call_method" or user.target in (operator.getitem, getattr))


def _submodule(module: torch.nn.Module, path: str) -> Any:
    try:
        return module.get_submodule(path)
    except AttributeError:
        return None


def _attr_path(target: str, module: torch.nn.Module) -> str:
    """`layer1.0.conv1` -> `self.layer1[0].conv1` (`self['a']` in a ModuleDict, `getattr(self, '0')` elsewhere)."""
    out, owner = "self", module
    for part in target.split("."):
        if isinstance(owner, torch.nn.ModuleDict):
            out += f"[{part!r}]"
        elif part.isdigit() and isinstance(owner, (torch.nn.Sequential, torch.nn.ModuleList)):
            out += f"[{part}]"
        elif part.isidentifier() and not keyword.iskeyword(part):
            out += f".{part}"
        else:
            out = f"getattr({out}, {part!r})"
        owner = owner._modules.get(part) if isinstance(owner, torch.nn.Module) else None
    return out


def _default_literal(v: Any) -> str:
    """A fixed argument's value as a default; values that are not Python literals become None (the comment above
    says what they were)."""
    text = literal(v)
    try:
        return text if eval(text, {"torch": torch, "float": float, "slice": slice}) == v else "None"  # noqa: S307
    except Exception:  # noqa: BLE001  (not a literal)
        return "None"


def _fixed_comment(module: torch.nn.Module, fixed: Dict[str, Any]) -> str:
    fn = type(module).forward
    try:
        where = f"{inspect.getsourcefile(fn)}:{inspect.getsourcelines(fn)[1]}"
    except (OSError, TypeError):
        where = "?"
    values = ", ".join(f"{k}={_default_literal(v) if _default_literal(v) != 'None' or v is None else type(v).__name__}"
                       for k, v in fixed.items())
    return (f"        # specialized at trace time ({short_path(where)}): arguments fixed to their traced values: "
            f"{values}\n")


def _specialized_comment(spec: Any) -> str:
    what = {"bool": "took the branch", "int": "fixed the value", "float": "fixed the value",
            "len": "fixed the length"}[spec.kind]
    code = f" `{spec.code}`" if spec.code else ""
    return f"        # specialized at trace time ({short_path(spec.where)}){code}: {what} {spec.value!r}\n"
