"""BuildContext: the explicit owner of one TensorRT network while a model's forward emits layers into it."""
from __future__ import annotations

import weakref
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional, Sequence, Set, Tuple

import numpy as np
import torch

from .. import backend, dtypes
from ..errors import ConfigError, ShapeError, TrtnnError, UnsupportedError
from .fold import Folder
from .tensor import Tensor


class BuildContext:
    """Holds the network, the weight arrays TensorRT points into, and the module-path naming scope.

    Tensors carry their context, so `forward` code needs no global network. Layer names are
    `module.path:op`; a module's output tensor is named by its module path (`backbone.layer1.0.conv1`).
    BatchNorm folding and final weights belong to `folder` (trtnn.graph.fold.Folder).
    """

    def __init__(self, *, fold_bn: bool = True, network: Any = None, dtype: Any = torch.float32) -> None:
        trt = backend.get()
        self.trt = trt
        self.logger = backend.logger()
        self.capture = backend.Capture()  # TensorRT's errors about this network (and only this one)
        self.builder = trt.Builder(self.logger)
        self._keep: List[Any] = []  # arrays behind trt.Weights
        self.network = network if network is not None else self.builder.create_network(backend.network_flags())
        # TensorRT keeps pointers into weight arrays: they (and the builder) live exactly as long as the network.
        weakref.finalize(self.network, _release, self._keep, self.builder)
        self.dtype = dtypes.to_torch(dtype)  # the compute dtype: what data produced inside the network starts in
        self._names: Dict[str, int] = {}
        self._scope: List[str] = []
        self._paths: Dict[int, str] = {}
        self.module_outputs: Dict[str, List[str]] = {}  # module path -> output tensor names
        self.module_types: Dict[str, str] = {}  # module path -> class name
        self.kept: Dict[str, torch.dtype] = {}  # module path -> the compute dtype kept inside it (keep_fp32/fp16)
        self.folder = Folder(self, enabled=fold_bn)
        # per-tensor naming tables, keyed by id() with the Tensor kept alive until `finalize` (ids stay unique)
        self._born: Dict[int, Tuple[Tensor, int]] = {}  # -> index of the layer that made the tensor
        self._named: Set[int] = set()  # tensors already named after the innermost module that returned them
        self._aux: Set[int] = set()  # indices of layers that do not count as a module's own (quantizable kernels)

    # ---- naming -------------------------------------------------------------------------
    def register_model(self, model: Any) -> None:
        """Learn every submodule's path so layers can be named after it."""
        for path, mod in model.named_modules():
            self._paths.setdefault(id(mod), path)
            self.module_types.setdefault(path, type(mod).__name__)

    def path_of(self, module: Any) -> str:
        path = self._paths.get(id(module))
        if path is None:  # a module not registered under the model: name it by class within the caller
            path = self.unique(self.join(type(module).__name__.lower()))
            self._paths[id(module)] = path
        return path

    def kept_dtype(self, path: str) -> Optional[torch.dtype]:
        """The compute dtype `keep_fp32`/`keep_fp16` asked for inside module `path` (None: the network's)."""
        return self.kept.get(path) if self.kept else None

    @property
    def scope(self) -> str:
        return self._scope[-1] if self._scope else ""

    def join(self, op: str) -> str:
        return f"{self.scope}:{op}" if self.scope else op

    def unique(self, name: str) -> str:
        n = self._names.get(name, 0)
        self._names[name] = n + 1
        return name if n == 0 else f"{name}#{n}"

    @contextmanager
    def module_scope(self, path: str) -> Iterator[None]:
        self._scope.append(path)
        try:
            yield
        finally:
            self._scope.pop()

    def name_outputs(self, path: str, tensors: List[Tensor], first_layer: int) -> None:
        """Name what a call of module `path` produced (layers from index `first_layer` on) after the path: its
        output tensors, and its layer when it emitted exactly one. Pass-throughs keep their names (aliases)."""
        base = self.unique(path)
        own = [i for i in range(first_layer, self.network.num_layers) if i not in self._aux]
        if len(own) == 1:
            self.network.get_layer(own[0]).name = base
        names = []
        for i, t in enumerate(tensors):
            it = t.trt
            born = self._born.get(id(t), (t, -1))[1]
            if born >= first_layer and id(t) not in self._named and not it.is_network_input \
                    and not it.is_network_output:
                it.name = base if len(tensors) == 1 else f"{base}:{i}"
                self._named.add(id(t))
                self.folder.named(t, base)
            names.append(it.name)
        self.module_outputs[base] = names

    def mark_aux(self) -> None:
        """The last layer added only holds another layer's weights: a module emitting one layer plus such
        constants is still named after its path."""
        self._aux.add(self.network.num_layers - 1)

    def name_layer(self, layer: Any, name: str) -> None:
        layer.name = name
        for i in range(layer.num_outputs):
            layer.get_output(i).name = name if layer.num_outputs == 1 else f"{name}:{i}"

    # ---- emission -----------------------------------------------------------------------
    def add(self, op: str, method: str, *args: Any, **attrs: Any) -> Any:
        """Call `network.<method>(*args)`, turn failures into trtnn errors, name the layer, set attrs."""
        self.raise_logged_errors(f"an earlier call (before {op})")
        with self.capture.active():
            try:
                layer = getattr(self.network, method)(*args)
            except TrtnnError:
                raise
            except (TypeError, RuntimeError, ValueError) as e:
                msgs = self.capture.take()
                raise UnsupportedError(f"TensorRT rejected {op} ({method}): {e}" + _said(msgs)) from None
            if layer is None:
                msgs = self.capture.take()
                if any("containsTensor" in m for m in msgs):  # an input ITensor of another INetworkDefinition
                    raise ConfigError(f"{op}: an input is a trtnn Tensor of another network (made by another "
                                      "trtnn.define/build call); a Tensor belongs to the network whose forward made "
                                      "it: compute it again in this forward (share modules, not Tensors)" + _said(msgs))
                raise ShapeError(f"TensorRT could not add {op} ({method})" + _said(msgs))
            self.name_layer(layer, self.unique(self.join(op)))
            for k, v in attrs.items():
                setattr(layer, k, v)
        self.raise_logged_errors(f"layer '{layer.name}'")
        return layer

    def check(self, layer: Any) -> None:
        """Ask TensorRT for the output shapes now, so an invalid layer fails here and not inside the builder."""
        with self.capture.active():
            try:
                for i in range(layer.num_outputs):
                    layer.get_output(i).shape
            except (RuntimeError, ValueError):
                pass
        self.raise_logged_errors(f"layer '{layer.name}'")

    def raise_logged_errors(self, what: str) -> None:
        """Raise ShapeError with every error TensorRT logged about this network since the last check, if any."""
        msgs = self.capture.take()
        if msgs:
            raise ShapeError(f"TensorRT rejected {what}: " + "; ".join(msgs))

    def weights(self, value: Any, dtype: Any = None) -> Any:
        """trt.Weights over `value` as a contiguous CPU tensor in `dtype` (copied only when that needs it); the
        tensor lives as long as the network."""
        t = value if isinstance(value, torch.Tensor) else torch.as_tensor(np.asarray(value))
        if dtype is not None:
            t = t.to(dtypes.to_torch(dtype))
        t = t.detach().contiguous().cpu()
        self._keep.append(t)
        if t.numel() == 0:
            return self.trt.Weights(dtypes.to_trt(t.dtype))
        return self.trt.Weights(dtypes.to_trt(t.dtype), t.data_ptr(), t.numel())

    def tensor(self, itensor: Any, born: Optional[int] = None) -> Tensor:
        """`itensor` of this network as a Tensor; `born`: index of the layer that made it (default: the last)."""
        t = Tensor(itensor, self)
        self._born[id(t)] = (t, self.network.num_layers - 1 if born is None else born)
        return t

    def constant(self, value: Any, dtype: Any = None, op: str = "const") -> Tensor:
        """A constant tensor (torch/numpy/python value) in `dtype`."""
        t = value if isinstance(value, torch.Tensor) else torch.as_tensor(value)
        if dtype is not None:
            t = t.to(dtypes.to_torch(dtype))
        if t.dtype == torch.float64:
            t = t.float()
        layer = self.add(op, "add_constant", tuple(t.shape), self.weights(t))
        return self.tensor(layer.get_output(0))

    def add_input(self, name: str, shape: Sequence[int], dtype: Any) -> Tensor:
        if any(self.network.get_input(i).name == name for i in range(self.network.num_inputs)):
            raise ShapeError(f"duplicate input name {name!r}")
        itensor = self.network.add_input(name, dtypes.to_trt(dtype), tuple(int(d) for d in shape))
        self._names[name] = 1
        return self.tensor(itensor)

    def mark_output(self, tensor: Any, name: str, dtype: Any = None) -> Any:
        """Mark `tensor` as a network output named `name`, cast to `dtype` when given."""
        if dtype is not None and tensor.dtype != dtypes.to_torch(dtype):
            tensor = tensor.to(dtype)
        itensor = tensor.trt
        if itensor.is_network_output or itensor.is_network_input:
            itensor = self.add(f"output_{name}", "add_identity", itensor).get_output(0)
        old = itensor.name
        itensor.name = name
        for names in self.module_outputs.values():  # keep module path -> tensor name current
            names[:] = [name if n == old else n for n in names]
        self.network.mark_output(itensor)
        return itensor

    def finalize(self) -> None:
        """The forward pass is over: set the convolutions' final weights and drop the per-tensor tables."""
        self.folder.finalize()
        self._born.clear()
        self._named.clear()
        self._aux.clear()



def _said(msgs: List[str]) -> str:
    return ": " + "; ".join(msgs) if msgs else ""


def _release(keep: List[Any], builder: Any) -> None:
    keep.clear()
