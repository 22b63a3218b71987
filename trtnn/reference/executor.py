"""Compile a TensorRT INetworkDefinition into a plan of PyTorch closures and run it on the CPU."""
from __future__ import annotations

import heapq
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..errors import ConfigError, InputError, ShapeError, TrtnnError, UnsupportedError
from ..graph.module import Module
from . import control, ops_attention, ops_conv, ops_elementwise, ops_misc, ops_shape  # noqa: F401  (register handlers)
from .common import HANDLERS, Node, dims, read_node, torch_dtype

# (run(*inputs) -> tensor | tuple, input names, output names, names freed afterwards, layer name, layer kind)
Step = Tuple[Any, Tuple[Optional[str], ...], Tuple[str, ...], Tuple[str, ...], str, str]
Inputs = Union[Mapping[str, Any], Sequence[Any]]
Observer = Callable[[str, torch.Tensor], None]  # (tensor name, value): sees each tensor as soon as it is computed


def build_step(item: Union[Node, "control.Region"]) -> Step:
    """A step for one layer, or for a whole loop / if-conditional (compiled recursively)."""
    if isinstance(item, control.Region):
        fn, ins, outs = control.build_region(item, compile_nodes, run_steps)
        return fn, tuple(ins), tuple(outs), (), item.name, item.kind
    node = item
    if node.kind not in HANDLERS or node.kind in control.BOUNDARY_KINDS:
        raise UnsupportedError(f"layer '{node.name}' of kind {node.kind} is not supported by the CPU executor")
    try:
        fn = HANDLERS[node.kind][1](node)
    except UnsupportedError as e:
        if f"'{node.name}'" in e.message:
            raise
        raise UnsupportedError(f"layer '{node.name}' ({node.kind}): {e.message}") from e
    except TrtnnError:
        raise
    except Exception as e:  # a setting the handler cannot read: name the layer instead of a bare Python error
        raise UnsupportedError(f"layer '{node.name}' ({node.kind}): the CPU executor cannot read its settings "
                               f"({type(e).__name__}: {e})") from e
    return fn, tuple(node.inputs), tuple(node.outputs), (), node.name, node.kind


def _toposort(items: List[Any]) -> List[Any]:
    """Order layers and regions so every tensor is produced before it is read (stable in layer order)."""
    producer = {}
    for k, it in enumerate(items):
        for name in it.outputs:
            producer[name] = k
    deps: List[set] = [set() for _ in items]
    users: List[List[int]] = [[] for _ in items]
    for k, it in enumerate(items):
        for name in it.inputs:
            p = producer.get(name)
            if p is not None and p != k and p not in deps[k]:
                deps[k].add(p)
                users[p].append(k)
    ready = [(items[k].index, k) for k in range(len(items)) if not deps[k]]
    heapq.heapify(ready)
    order = []
    while ready:
        _, k = heapq.heappop(ready)
        order.append(items[k])
        for u in users[k]:
            deps[u].discard(k)
            if not deps[u]:
                heapq.heappush(ready, (items[u].index, u))
    if len(order) != len(items):
        stuck = [items[k].name for k in range(len(items)) if deps[k]]
        raise UnsupportedError(f"the network has a cycle outside any loop (layers {stuck[:5]})")
    return order


def compile_nodes(nodes: List[Node]) -> List[Step]:
    """Steps for a list of layers (a network, a loop body or a conditional branch), in execution order."""
    return [build_step(it) for it in _toposort(control.group(nodes))]


def _with_frees(steps: List[Step], keep: set) -> List[Step]:
    """Attach to each step the tensors nobody reads afterwards (network outputs are kept)."""
    last: Dict[str, int] = {}
    for i, (_, ins, outs, _, _, _) in enumerate(steps):
        for n in outs:
            last[n] = i
        for n in ins:
            if n is not None:
                last[n] = i
    frees: List[List[str]] = [[] for _ in steps]
    for n, i in last.items():
        if n not in keep:
            frees[i].append(n)
    return [(fn, ins, outs, tuple(frees[i]), name, kind) for i, (fn, ins, outs, _, name, kind) in enumerate(steps)]


_NOT_FOLDABLE = {"FILL", "ASSERTION", "LOOP", "IF_CONDITIONAL"}  # random, side effects, regions


def _fold_constants(steps: List[Step]) -> Tuple[List[Step], Dict[str, Any]]:
    """Run once, at compile time, every step that reads only constants; returns (remaining steps, values)."""
    values: Dict[str, Any] = {}
    rest: List[Step] = []
    with torch.inference_mode():
        for step in steps:
            fn, ins, outs, _, _, kind = step
            if kind in _NOT_FOLDABLE or not outs or any(n is not None and n not in values for n in ins):
                rest.append(step)
                continue
            try:
                res = fn(*[values[n] if n is not None else None for n in ins])
            except Exception:  # leave it to fail at run time, with the layer named
                rest.append(step)
                continue
            values.update(zip(outs, res) if len(outs) != 1 else [(outs[0], res)])
    return rest, values


def run_steps(steps: List[Step], env: Dict[Optional[str], Any], free: bool = False,
              observe: Optional[Observer] = None) -> None:
    """Execute steps over `env` (tensor name -> value); optionally drop dead tensors as soon as possible and hand
    every tensor computed to `observe(name, value)` before it can be dropped."""
    step = None
    try:
        for step in steps:
            fn, ins, outs = step[0], step[1], step[2]
            res = fn(*[env[n] for n in ins])
            if len(outs) == 1:
                env[outs[0]] = res
            else:
                env.update(zip(outs, res))
            if observe is not None:
                for n in outs:
                    observe(n, env[n])
            if free:
                for n in step[3]:
                    del env[n]
    except TrtnnError:
        raise
    except Exception as e:
        where = f"layer '{step[4]}' ({step[5]})" if step is not None else "the network"
        raise ShapeError(f"{where} failed on the CPU: {type(e).__name__}: {e}") from e


class Executor:
    """Runs a TensorRT INetworkDefinition (or a trtnn Network) layer by layer with PyTorch CPU ops, honoring each
    layer's settings.

    `Executor(network)` reads every layer once into a plan (weights are copied: the executor does not need the
    network afterwards). `ex(inputs)` takes a dict name -> array/tensor or a sequence in network input order and
    returns {output name: torch.Tensor}; `keep_all=True` also returns every layer output outside loops/conditionals.
    `input_specs` lists (name, shape with -1 for dynamic dims, torch dtype) per network input.
    """

    def __init__(self, network: Any) -> None:
        _check_network(network)
        # a trtnn Network also brings its inputs' optimization profiles (min/opt/max shapes of dynamic dims)
        dynamic = [i for i in getattr(network, "inputs", ()) if i.is_dynamic]
        self.num_profiles = max((len(i.profiles) for i in dynamic), default=0)
        self._profiles = {i.name: [i.profile(k) for k in range(self.num_profiles)] for i in dynamic}
        network = getattr(network, "network", network)
        self.input_specs: List[Tuple[str, Tuple[int, ...], torch.dtype]] = []
        for i in range(network.num_inputs):
            t = network.get_input(i)
            self.input_specs.append((t.name, dims(t.shape), torch_dtype(t.dtype, f"network input '{t.name}'")))
        self.output_names = [network.get_output(i).name for i in range(network.num_outputs)]
        nodes = [read_node(network.get_layer(i), i) for i in range(network.num_layers)]
        self._layer_outputs = [n for node in nodes for n in node.outputs]
        steps, self._consts = _fold_constants(compile_nodes(nodes))
        self._steps = _with_frees(steps, set(self.output_names) | set(self._consts))
        for node in nodes:  # the plan holds no TensorRT object: it stays valid after the network is gone
            node.layer = None

    def _bind(self, inputs: Inputs) -> Dict[Optional[str], Any]:
        names = [s[0] for s in self.input_specs]
        if isinstance(inputs, Mapping):
            unknown = [k for k in inputs if k not in names]
            if unknown:
                raise InputError(f"unknown input(s) {unknown}; the network's inputs are {self._describe()}")
            missing = [n for n in names if n not in inputs]
            if missing:
                raise InputError(f"missing input(s) {missing}; the network's inputs are {self._describe()}")
            given = [inputs[n] for n in names]
        elif isinstance(inputs, (list, tuple)):
            given = list(inputs)
            if len(given) != len(names):
                raise InputError(f"got {len(given)} inputs, the network takes {len(names)}: {self._describe()}")
        else:
            raise InputError(f"inputs must be a dict {{name: array}} or a list in input order, got "
                             f"{type(inputs).__name__}" + (" (wrap it: [x])" if hasattr(inputs, "shape") else "")
                             + f"; the network's inputs are {self._describe()}")
        env: Dict[Optional[str], Any] = dict(self._consts)
        env[None] = None
        for (name, shape, dtype), value in zip(self.input_specs, given):
            env[name] = self._check(name, shape, dtype, value)
        self.select_profile({n: tuple(env[n].shape) for n in self._profiles})
        return env

    def select_profile(self, shapes: Mapping[str, Sequence[int]]) -> int:
        """The optimization profile an engine of this network would run `shapes` (input name -> shape) with: the
        first that holds every dynamic input's shape (-1 for a static network). InputError names the input, the dim,
        its value and the allowed range when no profile holds them."""
        if not self._profiles:
            return -1
        misses = []
        for k in range(self.num_profiles):
            miss = next((_outside(n, tuple(shapes[n]), *self._profiles[n][k]) for n in self._profiles
                         if _outside(n, tuple(shapes[n]), *self._profiles[n][k])), None)
            if miss is None:
                return k
            misses.append(miss)
        if self.num_profiles == 1:
            raise InputError(misses[0])
        raise InputError(f"the input shapes fit none of the network's {self.num_profiles} optimization profiles: "
                         + "; ".join(f"profile {k}: {m}" for k, m in enumerate(misses)))

    def _describe(self) -> str:
        return ", ".join(f"'{n}' {_fmt(s)} {str(d).replace('torch.', '')}" for n, s, d in self.input_specs)

    @staticmethod
    def _check(name: str, shape: Tuple[int, ...], dtype: torch.dtype, value: Any) -> torch.Tensor:
        if isinstance(value, np.ndarray):
            try:
                value = torch.from_numpy(value if value.flags.c_contiguous else np.ascontiguousarray(value))
            except TypeError as e:
                raise InputError(f"input '{name}': numpy dtype {value.dtype} cannot be used ({e}); "
                                 f"expected {str(dtype).replace('torch.', '')} of shape {_fmt(shape)}") from e
        elif not isinstance(value, torch.Tensor):
            raise InputError(f"input '{name}': expected a numpy array or torch tensor of shape {_fmt(shape)} "
                             f"and dtype {str(dtype).replace('torch.', '')}, got {type(value).__name__}")
        got = tuple(value.shape)
        ok_shape = len(got) == len(shape) and all(e < 0 or e == g for e, g in zip(shape, got))
        if value.dtype != dtype or not ok_shape:
            raise InputError(f"input '{name}': expected shape {_fmt(shape)} (-1 = any) and dtype "
                             f"{str(dtype).replace('torch.', '')}, got shape {_fmt(got)} and dtype "
                             f"{str(value.dtype).replace('torch.', '')}")
        return value.detach() if value.device.type == "cpu" else value.detach().cpu()

    def __call__(self, inputs: Inputs, keep_all: bool = False, observe: Optional[Observer] = None
                 ) -> Dict[str, torch.Tensor]:
        """{output name: tensor} for `inputs`. keep_all: every layer output outside loops and conditionals too.
        observe(name, value): called with every network input, constant and layer output (outside loops and
        conditionals) as soon as it exists, while dead tensors are still freed (a calibrator's or a comparison's
        view of the whole network without holding it all); it must not change the tensor."""
        env = self._bind(inputs)
        if observe is not None:
            for name, value in env.items():
                if name is not None:
                    observe(name, value)
        with torch.inference_mode():
            run_steps(self._steps, env, free=not keep_all, observe=observe)
        names = [n for n in self._layer_outputs if n in env] if keep_all else []
        names += self.output_names
        # folded constants are shared between calls: hand out copies
        return {n: env[n].clone() if n in self._consts else env[n] for n in names}


def _check_network(network: Any) -> None:
    """A TensorRT INetworkDefinition or a trtnn Network; a trtnn Module or anything else is refused clearly."""
    if isinstance(network, Module):
        raise ConfigError(f"Executor takes a defined network, got the trtnn Module {type(network).__name__}; use "
                          f"Executor(trtnn.define(model, [trtnn.Input(...)]))")
    inner = getattr(network, "network", network)
    if not all(hasattr(inner, a) for a in ("num_inputs", "get_layer", "num_layers")):
        raise ConfigError(f"Executor takes a trtnn Network (trtnn.define) or a TensorRT INetworkDefinition, got "
                          f"{type(network).__name__}")


def _outside(name: str, got: Tuple[int, ...], lo: Sequence[int], opt: Sequence[int], hi: Sequence[int]
             ) -> Optional[str]:
    """Why shape `got` of input `name` is outside the profile (min lo, max hi), or None when it is inside."""
    for d, (g, a, b) in enumerate(zip(got, lo, hi)):
        if not a <= g <= b:
            return (f"input '{name}': shape {_fmt(got)} is outside the network's profile (min {_fmt(lo)}, "
                    f"max {_fmt(hi)}): dim {d} is {g}, allowed {a}..{b}")
    return None


def _fmt(shape: Sequence[int]) -> str:
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def run(network: Any, inputs: Inputs, keep_all: bool = False, observe: Optional[Observer] = None
        ) -> Dict[str, torch.Tensor]:
    """Compile `network` and run it once on `inputs` (see Executor)."""
    return Executor(network)(inputs, keep_all=keep_all, observe=observe)
