"""The restricted unpickler: reads torch.save pickles without importing or calling anything the file names.

Globals resolve to stand-ins (nothing is imported); the only callables are the tensor rebuilders and a few
containers; calling anything else records a `StandIn` with its arguments and the state BUILD gives it.
"""
from __future__ import annotations

import _compat_pickle
import pickle
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterable, List, Tuple

import numpy as np
import torch

from ...errors import CheckpointError


class Global:
    """A global the pickle names; never imported."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"


class StandIn:
    """What calling or instantiating an unknown global produced: the call, and the state BUILD gave it."""

    def __init__(self, func: Any, args: Any):
        self.func, self.args = func, args
        self.state: Any = None
        self.items: List[Any] = []  # contents of pickled list / dict subclasses

    def append(self, item: Any) -> None:
        self.items.append(item)

    def extend(self, items: Iterable[Any]) -> None:
        self.items.extend(items)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.items.append((key, value))

    def __repr__(self) -> str:
        return f"<pickled {self.func!r} object>"


class StorageType:
    """Stands for torch.FloatStorage & co.; only its dtype matters."""

    def __init__(self, dtype: torch.dtype):
        self.dtype = dtype


STORAGE_DTYPES = {
    "DoubleStorage": torch.float64, "FloatStorage": torch.float32, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool, "ComplexFloatStorage": torch.complex64,
    "ComplexDoubleStorage": torch.complex128, "UntypedStorage": torch.uint8,
}
DTYPES = {name: value for name, value in vars(torch).items() if isinstance(value, torch.dtype)}


def _rebuild_tensor_v2(storage: Any, storage_offset: int, size: Any, stride: Any, requires_grad: Any = False,
                       backward_hooks: Any = None, metadata: Any = None) -> torch.Tensor:
    if not isinstance(storage, torch.Tensor):
        raise CheckpointError(f"tensor built from {storage!r} instead of a storage")
    return storage.as_strided(tuple(size), tuple(stride), storage_offset)


def _rebuild_tensor_v3(storage: Any, storage_offset: int, size: Any, stride: Any, requires_grad: Any,
                       backward_hooks: Any, dtype: Any, metadata: Any = None) -> torch.Tensor:
    if not (isinstance(storage, torch.Tensor) and isinstance(dtype, torch.dtype)):
        raise CheckpointError(f"tensor built from {storage!r} with dtype {dtype!r}")
    return _rebuild_tensor_v2(storage.view(dtype), storage_offset, size, stride)


def _rebuild_parameter(data: Any, requires_grad: Any, backward_hooks: Any, state: Any = None) -> Any:
    return data  # state_dict() holds the plain tensors, not Parameters


def _rebuild_from_type_v2(func: Any, new_type: Any, args: Any, state: Any) -> Any:
    return call(func, args)  # a tensor subclass or a tensor with attributes: keep the tensor


# The only things a pickle may call; anything else it calls becomes a StandIn.
CALLABLES = frozenset(map(id, (OrderedDict, set, frozenset, torch.Size, _rebuild_tensor_v2, _rebuild_tensor_v3,
                                _rebuild_parameter, _rebuild_from_type_v2)))
GLOBALS: Dict[Tuple[str, str], Any] = {
    ("collections", "OrderedDict"): OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("torch", "Size"): torch.Size,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_tensor_v3"): _rebuild_tensor_v3,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("torch._tensor", "_rebuild_from_type_v2"): _rebuild_from_type_v2,
}


def call(func: Any, args: Any) -> Any:
    if id(func) in CALLABLES:  # module-level objects: their ids never change or get reused
        if not isinstance(args, tuple):
            raise CheckpointError(f"malformed pickle: {func!r} called with {type(args).__name__} arguments")
        return func(*args)
    return StandIn(func, args)


def find_global(module: str, name: str) -> Any:
    if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 names, as protocol-2 pickles write them
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    if (module, name) in GLOBALS:
        return GLOBALS[(module, name)]
    if module in ("torch", "torch.cuda", "torch.storage") and name in STORAGE_DTYPES:
        return StorageType(STORAGE_DTYPES[name])
    if module == "torch" and name in DTYPES:
        return DTYPES[name]
    if module.startswith("torch") and name.startswith("_rebuild"):
        raise CheckpointError(f"unsupported tensor kind ({module}.{name}: quantized, sparse, nested or device "
                              f"tensors); pass trusted=True if you trust the file")
    return Global(module, name)


def no_storage(pid: Any) -> Any:
    raise CheckpointError(f"unexpected persistent id {pid!r}")


class SafeUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """The pure-Python unpickler with every opcode that could run code routed through `call`.

    Globals resolve through `find_global` (nothing is imported); REDUCE / NEWOBJ / INST / OBJ call only
    `CALLABLES` and make stand-ins for the rest; BUILD only records state on stand-ins.
    """

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, file: Any, load_storage: Callable[[Any], Any] = no_storage):
        super().__init__(file, encoding="utf-8")
        self.persistent_load = load_storage

    def find_class(self, module: str, name: str) -> Any:
        return find_global(module, name)

    def _instantiate(self, klass: Any, args: Any) -> None:
        self.append(call(klass, tuple(args)))

    def load_reduce(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = call(self.stack[-1], args)

    def load_newobj(self) -> None:
        args = self.stack.pop()
        self.append(call(self.stack.pop(), args))

    def load_newobj_ex(self) -> None:
        self.stack.pop()  # kwargs
        self.load_newobj()

    def load_build(self) -> None:
        state = self.stack.pop()
        if isinstance(self.stack[-1], StandIn):
            self.stack[-1].state = state

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build


def storage_id(pid: Any, length: int) -> Tuple[torch.dtype, str, int]:
    if not (isinstance(pid, tuple) and len(pid) == length and pid[0] == "storage"):
        raise CheckpointError(f"unexpected persistent id {pid!r}")
    storage_type, key, numel = pid[1], pid[2], pid[4]
    if not isinstance(storage_type, StorageType):
        raise CheckpointError(f"unsupported storage type {storage_type!r}")
    if not (isinstance(key, str) and isinstance(numel, int) and numel >= 0):
        raise CheckpointError(f"malformed storage id {pid!r}")
    return storage_type.dtype, key, numel


def flat(buf: bytearray, dtype: torch.dtype, offset: int = 0, count: int = -1) -> torch.Tensor:
    """A 1-D tensor sharing `buf`'s memory from element `offset` on (so filling `buf` later fills it)."""
    count = len(buf) // dtype.itemsize - offset if count < 0 else count
    if count == 0:
        return torch.empty(0, dtype=dtype)
    return torch.frombuffer(buf, dtype=dtype, offset=offset * dtype.itemsize, count=count)


def byteswap(buf: bytearray, dtype: torch.dtype) -> None:
    unit = dtype.itemsize // 2 if dtype.is_complex else dtype.itemsize
    if unit > 1 and buf:
        a = np.frombuffer(buf, dtype=np.uint8).reshape(-1, unit)
        a[...] = a[:, ::-1].copy()
