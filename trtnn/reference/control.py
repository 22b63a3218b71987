"""Loops (ILoop) and if-conditionals (IIfConditional): finding their layers and running them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

import torch

from .common import Node, register

LOOP_KINDS = {"RECURRENCE": "IRecurrenceLayer", "ITERATOR": "IIteratorLayer", "TRIP_LIMIT": "ITripLimitLayer",
              "LOOP_OUTPUT": "ILoopOutputLayer"}
IF_KINDS = {"CONDITION": "IConditionLayer", "CONDITIONAL_INPUT": "IIfConditionalInputLayer",
            "CONDITIONAL_OUTPUT": "IIfConditionalOutputLayer"}
BOUNDARY_KINDS = {**LOOP_KINDS, **IF_KINDS}
for _kind, _cls in BOUNDARY_KINDS.items():
    register(_kind, _cls)(None)


@dataclass
class Region:
    """A loop or conditional as one unit of its enclosing scope: its boundary layers plus every body layer."""
    kind: str  # "LOOP" | "IF_CONDITIONAL"
    name: str
    members: List[Node]
    index: int = 0
    inputs: List[str] = field(default_factory=list)   # tensors read from outside
    outputs: List[str] = field(default_factory=list)  # loop / conditional outputs


def _key(node: Node) -> Optional[Tuple[str, str]]:
    if node.kind in LOOP_KINDS:
        return "LOOP", node.layer.loop.name
    if node.kind in IF_KINDS:
        return "IF_CONDITIONAL", node.layer.conditional.name
    return None


def group(nodes: List[Node]) -> List[Any]:
    """Replace the layers of each outermost loop / conditional in `nodes` by one Region."""
    bounds: Dict[Tuple[str, str], List[Node]] = {}
    for n in nodes:
        k = _key(n)
        if k is not None:
            bounds.setdefault(k, []).append(n)
    if not bounds:
        return nodes
    members: Dict[Tuple[str, str], Set[int]] = {}
    for k, bs in bounds.items():
        exits = {"LOOP_OUTPUT", "CONDITIONAL_OUTPUT"}
        mem = {n.index for n in bs}
        inside = {o for n in bs if n.kind not in exits for o in n.outputs}
        changed = True
        while changed:
            changed = False
            for n in nodes:
                if n.index not in mem and any(i in inside for i in n.inputs):
                    mem.add(n.index)
                    inside.update(n.outputs)
                    changed = True
        members[k] = mem
    # k is nested in j when one of k's boundary layers lies inside j.
    parent = {k: [j for j in bounds if j != k and any(b.index in members[j] for b in bounds[k])] for k in bounds}
    owner: Dict[int, Tuple[str, str]] = {}
    for k in bounds:
        top, seen = k, {k}
        while parent[top] and parent[top][0] not in seen:
            top = parent[top][0]
            seen.add(top)
        for i in members[k]:
            owner[i] = top  # every construct of one nest maps to the same outermost one
    out: List[Any] = []
    regions: Dict[Tuple[str, str], Region] = {}
    for n in nodes:
        k = owner.get(n.index)
        if k is None:
            out.append(n)
        elif k not in regions:
            regions[k] = Region(k[0], k[1], [n], n.index)
            out.append(regions[k])
        else:
            regions[k].members.append(n)
    for r in regions.values():
        made = {o for n in r.members for o in n.outputs}
        r.inputs = sorted({i for n in r.members for i in n.inputs if i is not None and i not in made})
        exit_kind = "LOOP_OUTPUT" if r.kind == "LOOP" else "CONDITIONAL_OUTPUT"
        r.outputs = [o for n in r.members if n.kind == exit_kind and _key(n) == (r.kind, r.name) for o in n.outputs]
    return out


def _needed(steps: List[Any], names: List[str]) -> List[Any]:
    """The sub-list of `steps` (kept in order) that the tensors `names` transitively depend on."""
    want, keep = set(names), []
    for step in reversed(steps):
        if want.intersection(step[2]):
            keep.append(step)
            want.update(n for n in step[1] if n is not None)
    return keep[::-1]


def build_region(region: Region, compile_nodes: Callable[[List[Node]], List[Any]], run_steps: Callable):
    """(run, input names, output names) for a loop or conditional; bodies are compiled with `compile_nodes`."""
    own = [n for n in region.members if _key(n) == (region.kind, region.name)]
    body = compile_nodes([n for n in region.members if _key(n) != (region.kind, region.name)])
    build = _build_loop if region.kind == "LOOP" else _build_if
    return build(region, own, body, run_steps), region.inputs, region.outputs


def _build_if(region: Region, own: List[Node], body: List[Any], _run: Callable):
    cond = next(n.inputs[0] for n in own if n.kind == "CONDITION")
    passes = [(n.inputs[0], n.outputs[0]) for n in own if n.kind == "CONDITIONAL_INPUT"]
    outs = [n for n in own if n.kind == "CONDITIONAL_OUTPUT"]
    branch_true = _needed(body, [n.inputs[0] for n in outs])
    branch_false = _needed(body, [n.inputs[1] for n in outs])
    picks_true = [n.inputs[0] for n in outs]
    picks_false = [n.inputs[1] for n in outs]
    ext = region.inputs

    def run(*vals):
        env = dict(zip(ext, vals))
        env[None] = None
        for src, dst in passes:
            env[dst] = env[src]
        taken = bool(env[cond])
        _run(branch_true if taken else branch_false, env)
        res = [env[n] for n in (picks_true if taken else picks_false)]
        return res[0] if len(res) == 1 else tuple(res)
    return run


def _build_loop(region: Region, own: List[Node], body: List[Any], _run: Callable):
    recs = [(n.inputs[0], n.inputs[1], n.outputs[0]) for n in own if n.kind == "RECURRENCE"]
    iters = [(n.inputs[0], int(n.layer.axis), bool(n.layer.reverse), n.outputs[0]) for n in own if n.kind == "ITERATOR"]
    counts = [n.inputs[0] for n in own if n.kind == "TRIP_LIMIT" and n.layer.kind.name == "COUNT"]
    whiles = [n.inputs[0] for n in own if n.kind == "TRIP_LIMIT" and n.layer.kind.name == "WHILE"]
    louts = []
    rec_out = {r[2]: k for k, r in enumerate(recs)}
    for n in own:
        if n.kind == "LOOP_OUTPUT":
            length = n.inputs[1] if n.has_input(1) else None
            shape = [max(d, 0) for d in n.in_shapes[0]]
            louts.append((n.layer.kind.name, int(n.layer.axis), n.inputs[0], length, n.out_dtypes[0], shape))
    if not counts and not whiles and not iters:
        raise Node.unsupported(own[0], f"loop '{region.name}' without trip limit or iterator")
    cond_steps = _needed(body, whiles)
    rest = [s for s in body if not any(s is c for c in cond_steps)]
    ext = region.inputs

    def run(*vals):
        env = dict(zip(ext, vals))
        env[None] = None
        limit = min([int(env[c]) for c in counts] + [env[x].shape[a] for x, a, _, _ in iters], default=None)
        state = [env[init] for init, _, _ in recs]
        seqs: List[List[torch.Tensor]] = [[] for _ in louts]
        i = 0
        while limit is None or i < limit:
            for (_, _, out), value in zip(recs, state):
                env[out] = value
            for x, axis, reverse, out in iters:
                t = env[x]
                env[out] = t.select(axis, t.shape[axis] - 1 - i if reverse else i)
            _run(cond_steps, env)
            if whiles and not all(bool(env[w]) for w in whiles):
                break
            _run(rest, env)
            for seq, (kind, _, src, _, _, _) in zip(seqs, louts):
                if kind != "LAST_VALUE":
                    seq.append(env[src])
            state = [env[nxt] for _, nxt, _ in recs]
            i += 1
        res = []
        for seq, (kind, axis, src, length, dtype, static) in zip(seqs, louts):
            if kind == "LAST_VALUE":
                res.append(state[rec_out[src]] if src in rec_out else env[src])
                continue
            if kind == "REVERSE":
                seq = seq[::-1]
            n = int(env[length]) if length is not None else i
            out = torch.stack(seq[:n], axis) if seq else None
            if out is None or len(seq) < n:  # TensorRT leaves the tail undefined: zeros here
                shape = list(seq[0].shape) if seq else list(static)
                shape.insert(axis, n - len(seq))
                pad = torch.zeros(shape, dtype=dtype)
                out = pad if out is None else torch.cat([out, pad], axis)
            res.append(out)
        return res[0] if len(res) == 1 else tuple(res)
    return run
