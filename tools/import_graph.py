"""The import graph of the `trtnn` package, measured from the source (nothing is imported or run).

    python tools/import_graph.py [--root trtnn] [--verbose] [--json FILE]

Prints, per package and in total: import circles between files (function-level imports included: a circle they hide
is still a circle), arrows that run up the layer order, function-level imports (and how many carry no reason
comment), private (`_name`) imports across modules, `# noqa: E402` lines and `__all__ +=` blocks. With --verbose, every
finding is listed with its file and line. A package's `__init__.py` that only re-exports is a face: `from pkg import
name` is followed to the file that defines `name`.

Layer order (lowest first; a file may import only its own layer or lower ones):
errors/dtypes/backend/version < io < graph < functional < layers/nn < reference < compile < models < quant < debug < eval <
codegen < runtime < deploy < cli.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import re
import sys
from collections import defaultdict
from typing import Dict, List, NamedTuple, Optional, Set, Tuple

LAYERS = [("errors", "dtypes", "backend", "version"), ("io",), ("graph",), ("functional",), ("layers", "nn"),
          ("reference",), ("compile",), ("models",), ("quant",), ("debug",), ("eval",), ("codegen",), ("runtime",),
          ("deploy",), ("cli",)]
LAYER = {name: i for i, names in enumerate(LAYERS) for name in names}


class Import(NamedTuple):
    source: str      # importing module, dotted
    target: str      # imported module, dotted (resolved through package faces)
    names: Tuple[str, ...]
    line: int
    in_function: bool
    type_checking: bool
    reason: bool     # a comment on the line or the line above says why (function-level imports)


def module_name(root: str, path: str) -> str:
    rel = os.path.relpath(path, os.path.dirname(root))[:-3].replace(os.sep, ".")
    return rel[:-len(".__init__")] if rel.endswith(".__init__") else rel


def read_tree(root: str) -> Dict[str, Tuple[str, ast.Module, List[str]]]:
    """dotted module -> (path, ast, source lines)."""
    mods = {}
    for folder, _, files in os.walk(root):
        for f in sorted(files):
            if f.endswith(".py"):
                path = os.path.join(folder, f)
                with open(path, encoding="utf-8") as fh:
                    text = fh.read()
                mods[module_name(root, path)] = (path, ast.parse(text, path), text.splitlines())
    return mods


def is_package(mods, name: str) -> bool:
    return name in mods and mods[name][0].endswith("__init__.py")


def absolute(mods, source: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = source.split(".") if is_package(mods, source) else source.split(".")[:-1]
    base = base[:len(base) - node.level + 1]
    return ".".join(base + ([node.module] if node.module else []))


def reexports(mods, package: str) -> Dict[str, str]:
    """name -> defining module, for the `from .x import name` lines of a package's __init__."""
    out = {}
    for node in mods[package][1].body:
        if isinstance(node, ast.ImportFrom):
            target = absolute(mods, package, node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out[alias.asname or alias.name] = sub if sub in mods else target
    return out


def resolve(mods, target: str, name: str, seen: Optional[Set[str]] = None) -> str:
    """The module that `from target import name` really reads."""
    if f"{target}.{name}" in mods:
        return f"{target}.{name}"
    seen = seen or set()
    if is_package(mods, target) and target not in seen:
        seen.add(target)
        defined = reexports(mods, target).get(name)
        if defined and defined != target and defined in mods:
            return resolve(mods, defined, name, seen) if is_package(mods, defined) else defined
    return target


def scan(mods, source: str) -> List[Import]:
    _, tree, lines = mods[source]
    found: List[Import] = []

    def has_reason(line: int) -> bool:
        here, above = lines[line - 1], lines[line - 2] if line > 1 else ""
        return "#" in here or above.strip().startswith("#")

    def visit(node: ast.AST, in_function: bool, type_checking: bool) -> None:
        for child in ast.iter_child_nodes(node):
            func = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            tc = type_checking or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    name = alias.name
                    while name and name not in mods:
                        name = name.rpartition(".")[0]
                    if name or in_function:  # a third-party import counts only where it is function-level
                        found.append(Import(source, name or alias.name, (), child.lineno, in_function, type_checking,
                                            has_reason(child.lineno)))
            elif isinstance(child, ast.ImportFrom):
                target = absolute(mods, source, child)
                if target not in mods and in_function:
                    found.append(Import(source, target, (), child.lineno, in_function, type_checking,
                                        has_reason(child.lineno)))
                elif target in mods:
                    by_target = defaultdict(list)
                    for alias in child.names:
                        by_target[resolve(mods, target, alias.name)].append(alias.name)
                    for t, names in by_target.items():
                        found.append(Import(source, t, tuple(names), child.lineno, in_function, type_checking,
                                            has_reason(child.lineno)))
            visit(child, func, tc)

    visit(tree, False, False)
    return found


def layer(module: str) -> Optional[int]:
    parts = module.split(".")
    return LAYER.get(parts[1]) if len(parts) > 1 else None


def circles(edges: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def strong(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(edges):
        if v not in index:
            strong(v)
    return out


def area(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "(top)"


def measure(root: str) -> dict:
    mods = read_tree(root)
    imports = [imp for m in mods for imp in scan(mods, m)]
    top = os.path.basename(os.path.normpath(root))
    runtime = [i for i in imports if not i.type_checking and i.source != i.target and i.target in mods]
    faces = {m for m in mods if is_package(mods, m)}
    edges: Dict[str, Set[str]] = defaultdict(set)
    for i in runtime:
        if i.source != top and i.target not in faces:  # the top-level face and package faces only hand names on
            edges[i.source].add(i.target)
    findings = {
        "circles": circles(edges),
        "arrows up": sorted({(i.source, i.target, i.line) for i in runtime
                             if layer(i.source) is not None and layer(i.target) is not None
                             and layer(i.target) > layer(i.source)}),
        "function-level imports": sorted({(i.source, i.target, i.line, i.reason) for i in imports if i.in_function}),
        "private cross-imports": sorted({(i.source, i.target, i.line, n) for i in imports for n in i.names
                                         if n.startswith("_") and not n.startswith("__")}
                                        | {(i.source, i.target, i.line, i.target.rpartition(".")[2]) for i in imports
                                           if i.target.rpartition(".")[2].startswith("_")
                                           and not i.target.endswith("__init__")
                                           and not i.source.startswith(i.target.rpartition(".")[0] + ".")}),
        "noqa E402": [], "__all__ +=": [],
    }
    for m, (path, _, lines) in mods.items():
        for n, text in enumerate(lines, 1):
            if re.search(r"#\s*noqa:.*E402", text):
                findings["noqa E402"].append((m, n))
            if re.match(r"\s*__all__\s*\+=", text):
                findings["__all__ +="].append((m, n))
    return {"files": len(mods), "lines": sum(len(v[2]) for v in mods.values()), "findings": findings}


def table(result: dict) -> str:
    f = result["findings"]
    by_area: Dict[str, Dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key in ("arrows up", "function-level imports", "private cross-imports", "noqa E402", "__all__ +="):
        for item in f[key]:
            by_area[area(item[0])][key] += 1
    for item in f["function-level imports"]:
        if not item[3]:
            by_area[area(item[0])]["no reason"] += 1
    for comp in f["circles"]:
        by_area[area(comp[0])]["circles"] += 1
    cols = ["circles", "arrows up", "function-level imports", "no reason", "private cross-imports", "noqa E402",
            "__all__ +="]
    rows = ["| package | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for a in sorted(by_area):
        rows.append(f"| {a} | " + " | ".join(str(by_area[a][c]) for c in cols) + " |")
    total = {c: sum(by_area[a][c] for a in by_area) for c in cols}
    rows.append("| **all** | " + " | ".join(f"**{total[c]}**" for c in cols) + " |")
    return "\n".join(rows)


def details(result: dict) -> str:
    f = result["findings"]
    out = []
    for comp in f["circles"]:
        out.append("circle: " + " <-> ".join(comp))
    for s, t, line in f["arrows up"]:
        out.append(f"arrow up: {s}:{line} -> {t}")
    for s, t, line, reason in f["function-level imports"]:
        out.append(f"function-level import{'' if reason else ' (no reason given)'}: {s}:{line} -> {t}")
    for s, t, line, name in f["private cross-imports"]:
        out.append(f"private import: {s}:{line} <- {t}.{name}" if name != t.rpartition(".")[2]
                   else f"private module: {s}:{line} <- {t}")
    for m, line in f["noqa E402"]:
        out.append(f"noqa E402: {m}:{line}")
    for m, line in f["__all__ +="]:
        out.append(f"__all__ +=: {m}:{line}")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                   "trtnn"))
    ap.add_argument("--verbose", action="store_true", help="list every finding with its file and line")
    ap.add_argument("--json", help="also write the findings as JSON to this file")
    args = ap.parse_args(argv)
    result = measure(args.root)
    print(f"{result['files']} files, {result['lines']} lines under {args.root}\n")
    print(table(result))
    if args.verbose:
        print("\n" + details(result))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(result, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
