"""Read and write weight files without trusting them.

Reads torch.save checkpoints (zip and legacy formats) through a restricted unpickler that never
imports or calls anything named in the file, plus safetensors, numpy .npz and tensorrtx .wts.
Writes .safetensors, .npz, .wts and .pt/.pth, atomically.

Checkpoints holding whole pickled modules (ultralytics' 'model' / 'ema') are read without the
package that defined them and return what `module.float().state_dict()` would: floating-point
tensors upcast to float32, everything else unchanged. Plain state_dicts keep their stored dtypes.
"""
from __future__ import annotations

import _compat_pickle
import io
import json
import os
import pickle
import struct
import sys
import zipfile
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union

import numpy as np
import torch

from ..errors import CheckpointError, ConfigError, FileError
from .files import atomic_path, check_output_path

PathLike = Union[str, "os.PathLike[str]"]

SAVE_FORMATS = (".safetensors", ".npz", ".wts", ".pt", ".pth")
# Wrapper keys tried, in order, when a checkpoint dict holds no tensors itself
# (ultralytics: `ckpt.get('ema') or ckpt['model']`; CenterNet / others: 'state_dict').
WRAPPER_KEYS = ("ema", "model", "state_dict", "model_state_dict")
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_KEY_ORDER = "trtnn_key_order"  # safetensors metadata entry keeping the key order
_MAX_SAFETENSORS_HEADER = 100_000_000  # bytes; safetensors itself refuses larger headers
_WTS_EXACT_INT = 2 ** 24  # integers up to this magnitude survive .wts's float32 exactly


# --------------------------------------------------------------------------- restricted unpickler

class _Global:
    """A global the pickle names; never imported."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __repr__(self) -> str:
        return f"{self.module}.{self.name}"


class _StandIn:
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


class _StorageType:
    """Stands for torch.FloatStorage & co.; only its dtype matters."""

    def __init__(self, dtype: torch.dtype):
        self.dtype = dtype


_STORAGE_DTYPES = {
    "DoubleStorage": torch.float64, "FloatStorage": torch.float32, "HalfStorage": torch.float16,
    "BFloat16Storage": torch.bfloat16, "LongStorage": torch.int64, "IntStorage": torch.int32,
    "ShortStorage": torch.int16, "CharStorage": torch.int8, "ByteStorage": torch.uint8,
    "BoolStorage": torch.bool, "ComplexFloatStorage": torch.complex64,
    "ComplexDoubleStorage": torch.complex128, "UntypedStorage": torch.uint8,
}
_DTYPES = {name: value for name, value in vars(torch).items() if isinstance(value, torch.dtype)}


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
    return _call(func, args)  # a tensor subclass or a tensor with attributes: keep the tensor


# The only things a pickle may call; anything else it calls becomes a _StandIn.
_CALLABLES = frozenset(map(id, (OrderedDict, set, frozenset, torch.Size, _rebuild_tensor_v2, _rebuild_tensor_v3,
                                _rebuild_parameter, _rebuild_from_type_v2)))
_GLOBALS: Dict[Tuple[str, str], Any] = {
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


def _call(func: Any, args: Any) -> Any:
    if id(func) in _CALLABLES:  # module-level objects: their ids never change or get reused
        if not isinstance(args, tuple):
            raise CheckpointError(f"malformed pickle: {func!r} called with {type(args).__name__} arguments")
        return func(*args)
    return _StandIn(func, args)


def _find_global(module: str, name: str) -> Any:
    if (module, name) in _compat_pickle.NAME_MAPPING:  # Python 2 names, as protocol-2 pickles write them
        module, name = _compat_pickle.NAME_MAPPING[(module, name)]
    module = _compat_pickle.IMPORT_MAPPING.get(module, module)
    if (module, name) in _GLOBALS:
        return _GLOBALS[(module, name)]
    if module in ("torch", "torch.cuda", "torch.storage") and name in _STORAGE_DTYPES:
        return _StorageType(_STORAGE_DTYPES[name])
    if module == "torch" and name in _DTYPES:
        return _DTYPES[name]
    if module.startswith("torch") and name.startswith("_rebuild"):
        raise CheckpointError(f"unsupported tensor kind ({module}.{name}: quantized, sparse, nested or device "
                              f"tensors); pass trusted=True if you trust the file")
    return _Global(module, name)


def _no_storage(pid: Any) -> Any:
    raise CheckpointError(f"unexpected persistent id {pid!r}")


class _Unpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """The pure-Python unpickler with every opcode that could run code routed through `_call`.

    Globals resolve through `_find_global` (nothing is imported); REDUCE / NEWOBJ / INST / OBJ call only
    `_CALLABLES` and make stand-ins for the rest; BUILD only records state on stand-ins.
    """

    dispatch = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def __init__(self, file: Any, load_storage: Callable[[Any], Any] = _no_storage):
        super().__init__(file, encoding="utf-8")
        self.persistent_load = load_storage

    def find_class(self, module: str, name: str) -> Any:
        return _find_global(module, name)

    def _instantiate(self, klass: Any, args: Any) -> None:
        self.append(_call(klass, tuple(args)))

    def load_reduce(self) -> None:
        args = self.stack.pop()
        self.stack[-1] = _call(self.stack[-1], args)

    def load_newobj(self) -> None:
        args = self.stack.pop()
        self.append(_call(self.stack.pop(), args))

    def load_newobj_ex(self) -> None:
        self.stack.pop()  # kwargs
        self.load_newobj()

    def load_build(self) -> None:
        state = self.stack.pop()
        if isinstance(self.stack[-1], _StandIn):
            self.stack[-1].state = state

    dispatch[pickle.REDUCE[0]] = load_reduce
    dispatch[pickle.NEWOBJ[0]] = load_newobj
    dispatch[pickle.NEWOBJ_EX[0]] = load_newobj_ex
    dispatch[pickle.BUILD[0]] = load_build


def _storage_id(pid: Any, length: int) -> Tuple[torch.dtype, str, int]:
    if not (isinstance(pid, tuple) and len(pid) == length and pid[0] == "storage"):
        raise CheckpointError(f"unexpected persistent id {pid!r}")
    storage_type, key, numel = pid[1], pid[2], pid[4]
    if not isinstance(storage_type, _StorageType):
        raise CheckpointError(f"unsupported storage type {storage_type!r}")
    if not (isinstance(key, str) and isinstance(numel, int) and numel >= 0):
        raise CheckpointError(f"malformed storage id {pid!r}")
    return storage_type.dtype, key, numel


def _flat(buf: bytearray, dtype: torch.dtype, offset: int = 0, count: int = -1) -> torch.Tensor:
    """A 1-D tensor sharing `buf`'s memory from element `offset` on (so filling `buf` later fills it)."""
    count = len(buf) // dtype.itemsize - offset if count < 0 else count
    if count == 0:
        return torch.empty(0, dtype=dtype)
    return torch.frombuffer(buf, dtype=dtype, offset=offset * dtype.itemsize, count=count)


def _byteswap(buf: bytearray, dtype: torch.dtype) -> None:
    unit = dtype.itemsize // 2 if dtype.is_complex else dtype.itemsize
    if unit > 1 and buf:
        a = np.frombuffer(buf, dtype=np.uint8).reshape(-1, unit)
        a[...] = a[:, ::-1].copy()


def _open_zip(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise CheckpointError(f"truncated or corrupt zip archive: its directory at the end is unreadable ({e})") from e


def _read_torch_zip(path: str) -> Any:
    size = os.path.getsize(path)
    with _open_zip(path) as zf:
        names = zf.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
        if len(pickles) != 1:
            raise CheckpointError(f"zip archive without a single '<name>/data.pkl' (found {pickles})")
        prefix = pickles[0][: -len("data.pkl")]
        if prefix + "constants.pkl" in names:
            raise CheckpointError("a TorchScript archive (torch.jit.save); load it with "
                                  "torch.jit.load(path).state_dict() or pass trusted=True")
        order = zf.read(prefix + "byteorder").decode() if prefix + "byteorder" in names else sys.byteorder
        if order not in ("little", "big"):
            raise CheckpointError(f"unknown byte order {order!r}")
        storages: Dict[str, torch.Tensor] = {}

        def load_storage(pid: Any) -> torch.Tensor:
            dtype, key, numel = _storage_id(pid, 5)
            if key not in storages:
                info = zf.getinfo(f"{prefix}data/{key}")
                if info.compress_type == zipfile.ZIP_STORED and info.file_size > size:
                    raise CheckpointError(f"storage '{key}' claims {info.file_size} bytes, more than the file holds")
                if info.file_size != numel * dtype.itemsize:
                    raise CheckpointError(f"storage '{key}' holds {info.file_size} bytes, "
                                          f"expected {numel * dtype.itemsize}")
                buf = bytearray(info.file_size)
                with zf.open(info) as f:
                    if f.readinto(buf) != len(buf) or f.read(1):  # type: ignore[attr-defined]
                        raise CheckpointError(f"storage '{key}' is truncated")
                if order != sys.byteorder:
                    _byteswap(buf, dtype)
                storages[key] = _flat(buf, dtype)
            return storages[key]

        return _Unpickler(io.BytesIO(zf.read(pickles[0])), load_storage).load()


def _read_torch_legacy(path: str) -> Any:
    """The pre-1.6 format: pickles for magic, version, sys info, the object, storage keys; then the storages,
    each an int64 element count and its data, both little-endian whatever machine wrote them."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if _Unpickler(f).load() != _LEGACY_MAGIC:
            raise CheckpointError("a pickle file, not a torch.save checkpoint (no torch magic number)")
        if _Unpickler(f).load() != _LEGACY_PROTOCOL:
            raise CheckpointError("unsupported legacy torch protocol version")
        _Unpickler(f).load()  # sys info
        storages: Dict[str, Tuple[torch.dtype, bytearray]] = {}  # filled once the object is read

        def load_storage(pid: Any) -> Any:
            if isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "module":
                return pid[1]  # a pickled module's class, with its source
            dtype, key, numel = _storage_id(pid, 6)
            if key not in storages:
                if numel * dtype.itemsize > size:
                    raise CheckpointError(f"truncated or corrupt: storage '{key}' claims {numel} elements, "
                                          "more than the file holds")
                storages[key] = (dtype, bytearray(numel * dtype.itemsize))
            buf, view = storages[key][1], pid[5]
            if view is None:
                return _flat(buf, dtype)
            _, offset, count = view  # a storage that is a slice of another one
            return _flat(buf, dtype, offset, count)

        result = _Unpickler(f, load_storage).load()
        for key in _Unpickler(f).load():
            dtype, buf = storages[key]
            head = f.read(8)
            if len(head) < 8:
                raise CheckpointError(f"truncated: the file ends before storage '{key}'")
            (numel,) = struct.unpack("<q", head)
            if numel * dtype.itemsize != len(buf):
                raise CheckpointError(f"storage '{key}' holds {numel} elements, expected {len(buf) // dtype.itemsize}")
            if f.readinto(buf) != len(buf):
                raise CheckpointError(f"truncated: the file ends inside storage '{key}'")
            if sys.byteorder == "big":
                _byteswap(buf, dtype)
        return result


def _read_tar(path: str) -> Any:
    raise CheckpointError("a legacy tar checkpoint (PyTorch < 0.4) cannot be read safely; pass trusted=True")


# --------------------------------------------------------------------------- from objects to state_dicts

def _module_state(obj: Any) -> Optional[Dict[str, Any]]:
    """The __dict__ of a pickled nn.Module stand-in, else None."""
    state = obj.state if isinstance(obj, _StandIn) else None
    if isinstance(state, tuple) and len(state) == 2:
        state = state[0]
    is_module = isinstance(state, dict) and all(isinstance(state.get(k), dict) for k in ("_parameters", "_modules"))
    return state if is_module else None


def _stand_in_state_dict(state: Dict[str, Any], prefix: str, out: "OrderedDict[str, torch.Tensor]") -> None:
    """What `module.state_dict()` returns, walked from a stand-in's recorded __dict__."""
    skip = state.get("_non_persistent_buffers_set")
    skip = skip if isinstance(skip, (set, frozenset)) else set()
    buffers = state.get("_buffers")
    entries = list(state["_parameters"].items())
    entries += [(k, v) for k, v in (buffers.items() if isinstance(buffers, dict) else ()) if k not in skip]
    for name, tensor in entries:
        if tensor is None:
            continue
        if not isinstance(tensor, torch.Tensor):
            raise CheckpointError(f"'{prefix}{name}' is {tensor!r}, not a tensor")
        out[prefix + name] = tensor
    for name, child in state["_modules"].items():
        if child is None:
            continue
        child_state = _module_state(child)
        if child_state is None:
            raise CheckpointError(f"submodule '{prefix}{name}' is {child!r}, not a module")
        _stand_in_state_dict(child_state, f"{prefix}{name}.", out)


def _weights(obj: Any) -> Tuple["OrderedDict[str, torch.Tensor]", bool]:
    """The tensors of a loaded checkpoint object, and whether they came out of a module."""
    if isinstance(obj, torch.nn.Module):
        return OrderedDict(obj.state_dict()), True
    state = _module_state(obj)
    if state is not None:
        out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
        _stand_in_state_dict(state, "", out)
        return out, True
    if isinstance(obj, Mapping):
        if not any(isinstance(v, torch.Tensor) for v in obj.values()):
            for key in WRAPPER_KEYS:
                inner = obj.get(key)
                if isinstance(inner, (Mapping, torch.nn.Module)) or _module_state(inner) is not None:
                    return _weights(inner)
        tensors = OrderedDict((k, v) for k, v in obj.items() if isinstance(k, str) and isinstance(v, torch.Tensor))
        if obj and not tensors:
            raise CheckpointError(f"no tensors found; top-level keys: {list(obj)[:10]} "
                                  f"(weights are looked for under {list(WRAPPER_KEYS)})")
        return tensors, False
    raise CheckpointError(f"holds {obj!r}, not a state_dict or a module")


def _state_dict_from_object(obj: Any) -> "OrderedDict[str, torch.Tensor]":
    tensors, from_module = _weights(obj)
    if tensors and all(k.startswith("module.") for k in tensors):  # DataParallel / DistributedDataParallel
        tensors = OrderedDict((k[len("module."):], v) for k, v in tensors.items())
    if from_module:
        tensors = OrderedDict((k, v.float() if v.is_floating_point() else v) for k, v in tensors.items())
    return OrderedDict((k, v.detach()) for k, v in tensors.items())


# --------------------------------------------------------------------------- other formats

def _safetensors_header(path: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The tensor entries and the metadata of a safetensors file, checked against the file's size."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        if n > _MAX_SAFETENSORS_HEADER:
            raise CheckpointError(f"safetensors header length {n} is too large (more than "
                                  f"{_MAX_SAFETENSORS_HEADER // 1_000_000} MB): corrupt or not a safetensors file")
        if n > size - 8:
            raise CheckpointError(f"safetensors header length {n} is too large for the file's {size} bytes "
                                  "(truncated or corrupt)")
        raw = f.read(n)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as e:
        raise CheckpointError(f"safetensors header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"safetensors header is a JSON {type(header).__name__}, not an object")
    meta = header.pop("__metadata__", None) or {}
    end = 0
    for key, entry in header.items():
        offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(type(o) is int for o in offsets)):
            raise CheckpointError(f"safetensors header entry '{key}' is malformed: {entry!r:.80}")
        end = max(end, offsets[1])
    if 8 + n + end > size:
        raise CheckpointError(f"truncated: the safetensors header describes {end} bytes of tensor data, "
                              f"the file holds {size - 8 - n}")
    return header, meta if isinstance(meta, dict) else {}


def _read_safetensors(path: str) -> "OrderedDict[str, torch.Tensor]":
    from safetensors import safe_open

    header, meta = _safetensors_header(path)
    names = sorted(header, key=lambda k: header[k]["data_offsets"][0])  # file order
    try:
        order = json.loads(meta.get(_KEY_ORDER, "[]"))
    except (TypeError, ValueError):
        order = []  # a foreign or damaged entry: keep the file's order
    if isinstance(order, list) and all(isinstance(k, str) for k in order) and sorted(order) == sorted(names):
        names = order
    with safe_open(path, framework="pt") as f:
        return OrderedDict((k, f.get_tensor(k)) for k in names)


def _read_npz(path: str) -> "OrderedDict[str, torch.Tensor]":
    with np.load(path, allow_pickle=False) as npz:
        out = OrderedDict()
        for k in npz.files:
            a = npz[k]
            out[k] = torch.from_numpy(a.astype(a.dtype.newbyteorder("="), copy=False))
        return out


_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _wts_values(rest: str, n: int, line_no: int, key: str, complete: bool) -> np.ndarray:
    """The `n` float32 values of a .wts line after its name and count: big-endian bit patterns in hex.

    tensorrtx writes 8 digits per value, one space apart (parsed in one go); hand-written files may drop leading
    zeros or space differently (parsed value by value, which also pinpoints a bad value)."""
    rest = rest.rstrip()
    if n and len(rest) == 9 * n - 1 and rest[8::9] == " " * (n - 1):
        try:
            return np.frombuffer(bytes.fromhex(rest), dtype=">u4").astype(np.uint32).view(np.float32)
        except ValueError:
            pass  # find the culprit below
    hexes = rest.split()
    cut = not complete and bool(hexes) and len(hexes[-1]) < len(hexes[0])
    if len(hexes) != n or cut:
        note = " (truncated: the file ends inside this line)" if not complete else ""
        raise CheckpointError(f"line {line_no}: '{key}' announces {n} values, has {len(hexes)}{note}")
    for i, h in enumerate(hexes):
        if not (0 < len(h) <= 8 and _HEX_DIGITS.issuperset(h)):
            raise CheckpointError(f"line {line_no}: '{key}' value {i + 1} is {h[:20]!r}, "
                                  "not a float32 in hex (1 to 8 hex digits)")
    return np.array([int(h, 16) for h in hexes], dtype=np.uint32).view(np.float32)


def _wts_text(raw: bytes, line_no: int) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise CheckpointError(f"line {line_no}: not ASCII text (byte {raw[e.start]:#04x} at column {e.start + 1})"
                              ) from None


def _read_wts(path: str) -> "OrderedDict[str, torch.Tensor]":
    """tensorrtx weights: a line with the tensor count, then `name count hex...` per tensor."""
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    with open(path, "rb") as f:
        first = _wts_text(f.readline(), 1).split()
        if len(first) != 1 or not first[0].isdigit():
            raise CheckpointError(f"line 1: expected the number of tensors, got {' '.join(first)[:40]!r}")
        count, line_no = int(first[0]), 1
        for line_no, raw in enumerate(f, start=2):
            parts = _wts_text(raw, line_no).split(None, 2)
            if not parts:
                continue
            key = parts[0]
            if len(out) == count:
                raise CheckpointError(f"line {line_no}: '{key}' is one tensor more than the {count} announced on line 1")
            if len(parts) < 2 or not parts[1].isdigit():
                got = repr(parts[1][:20]) if len(parts) > 1 else "nothing"
                raise CheckpointError(f"line {line_no}: '{key}': expected 'name count hex...', "
                                      f"the value count is {got}")
            if key in out:
                raise CheckpointError(f"line {line_no}: '{key}' appears twice")
            rest = parts[2] if len(parts) > 2 else ""
            out[key] = torch.from_numpy(_wts_values(rest, int(parts[1]), line_no, key, raw.endswith(b"\n")))
    if len(out) < count:
        last = f"; the last, '{next(reversed(out))}', is on line {line_no}" if out else ""
        raise CheckpointError(f"truncated or miscounted: line 1 announces {count} tensors, "
                              f"the file holds {len(out)}{last}")
    return out


# --------------------------------------------------------------------------- detection and public API

_PICKLED = {"torch": _read_torch_zip, "torch-legacy": _read_torch_legacy, "torch-tar": _read_tar}
_TENSOR_FILES = {"safetensors": _read_safetensors, "npz": _read_npz, "wts": _read_wts}


def _detect(path: str) -> str:
    with open(path, "rb") as f:
        head = f.read(512)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        with _open_zip(path) as zf:
            names = zf.namelist()
        if any(n.endswith("/data.pkl") for n in names):
            return "torch"
        if all(n.endswith(".npy") for n in names):
            return "npz"
        raise CheckpointError(f"a zip archive that is neither a torch.save file nor an .npz (holds {names[:5]})")
    if len(head) > 8 and head[8:9] == b"{":  # a JSON header after its 8-byte length
        return "safetensors"
    if head[:1] == b"\x80":
        return "torch-legacy"
    if head[257:262] == b"ustar":
        return "torch-tar"
    if head.split(b"\n", 1)[0].strip().isdigit() or (path.lower().endswith(".wts") and head.isascii()):
        return "wts"
    if not head:
        raise CheckpointError("the file is empty (0 bytes)")
    ext = os.path.splitext(path)[1]
    hint = "; truncated or corrupt?" if ext.lower() in SAVE_FORMATS else ""
    raise CheckpointError(f"unknown checkpoint format ({ext or 'no extension'}; starts with {head[:16]!r}{hint}); "
                          "expected a torch.save file, .safetensors, .npz or tensorrtx .wts")


def _reason(e: BaseException) -> str:
    """What went wrong reading a file, in words (raw parser errors of a cut-short file say 'truncated')."""
    if isinstance(e, CheckpointError):
        return e.message
    text = f"{type(e).__name__}: {e}"
    if isinstance(e, EOFError) or "truncat" in str(e).lower():
        return f"truncated: the file ends in the middle of its data ({text})"
    if isinstance(e, OSError):
        return e.strerror or text
    return f"corrupt or not a checkpoint ({text})"


def load_checkpoint(path: PathLike, *, trusted: bool = False) -> "OrderedDict[str, torch.Tensor]":
    """Read a checkpoint's tensors as an ordered state_dict, never running code from the file.

    The format is recognised by content: torch.save (zip or legacy), safetensors, .npz, tensorrtx .wts.
    Dicts without tensors are unwrapped through WRAPPER_KEYS; pickled modules give their state_dict();
    non-tensor entries are dropped and a `module.` prefix shared by every key is stripped.
    `trusted=True` falls back to `torch.load(weights_only=False)` (which runs the file's pickle) for
    torch files the safe reader cannot handle (TorchScript, legacy tar, quantized tensors...).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file not found: '{path}'" if not os.path.exists(path)
                              else f"checkpoint '{path}' is not a file")
    kind = ""
    try:
        kind = _detect(path)
        if kind in _TENSOR_FILES:
            return _TENSOR_FILES[kind](path)
        try:
            return _state_dict_from_object(_PICKLED[kind](path))
        except Exception:
            if not trusted:
                raise
        return _state_dict_from_object(torch.load(path, map_location="cpu", weights_only=False))
    except Exception as e:
        fmt = f" ({kind} format)" if kind else ""
        raise CheckpointError(f"cannot load checkpoint '{path}'{fmt}: {_reason(e)}") from e


def _plain_tensors(state_dict: Mapping[str, torch.Tensor]) -> "OrderedDict[str, torch.Tensor]":
    """Contiguous CPU tensors, none sharing memory with another."""
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    seen = set()
    for key, value in state_dict.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise CheckpointError(f"entry {key!r}: expected a str key and a tensor, got a {type(value).__name__}")
        t = value.detach().cpu().contiguous()
        ptr = t.untyped_storage().data_ptr()
        if t.numel() and ptr in seen:
            t = t.clone()
        seen.add(ptr)
        out[key] = t
    return out


def _write_safetensors(tensors: "OrderedDict[str, torch.Tensor]", tmp: str) -> None:
    from safetensors.torch import save_file

    save_file(dict(tensors), tmp, metadata={"format": "pt", _KEY_ORDER: json.dumps(list(tensors))})
    _sort_safetensors_metadata(tmp)


def _sort_safetensors_metadata(path: str) -> None:
    """Rewrite the header of a safetensors file with its `__metadata__` entries sorted, in place and at the same
    length (spaces pad it, as the format allows): safetensors writes them in hash order, which differs from run to
    run, so the same weights saved twice would give different bytes."""
    with open(path, "r+b") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        header["__metadata__"] = dict(sorted(header.get("__metadata__", {}).items()))
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
        if len(text) <= n:  # always, unless Python escapes a character that the writer did not
            f.seek(8)
            f.write(text.ljust(n))


def _write_npz(tensors: "OrderedDict[str, torch.Tensor]", tmp: str) -> None:
    arrays = []
    for k, t in tensors.items():
        if t.dtype == torch.bfloat16:
            raise CheckpointError(f"'{k}' is bfloat16, which .npz cannot hold; use .safetensors")
        arrays.append((k, t.numpy()))
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for k, a in arrays:
            with zf.open(k + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, a, allow_pickle=False)


def _write_wts(tensors: "OrderedDict[str, torch.Tensor]", tmp: str) -> None:
    """Every tensor as flat big-endian float32 hex: floats of other widths are rounded to float32; integers
    must fit float32 exactly (|v| <= 2**24) and come back as integers when loaded into a model."""
    for k, t in tensors.items():
        if not k or any(c.isspace() for c in k) or not k.isascii() or t.is_complex():
            raise CheckpointError(f"'{k}' cannot be stored in .wts (names must be ASCII without spaces, values real)")
        if not t.is_floating_point() and t.numel() and t.dtype != torch.bool and t.abs().max() > _WTS_EXACT_INT:
            raise CheckpointError(f"'{k}' holds integers beyond 2**24 ({int(t.abs().max())}), which .wts's float32 "
                                  "cannot store exactly; use .safetensors")
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        f.write(f"{len(tensors)}\n")
        for k, t in tensors.items():
            values = t.reshape(-1).to(torch.float32).numpy().astype(">f4").tobytes().hex(" ", 4)
            f.write(f"{k} {t.numel()} {values}".rstrip() + "\n")


def _write_torch(tensors: "OrderedDict[str, torch.Tensor]", tmp: str) -> None:
    with open(tmp, "wb") as f:  # a file object: the archive is named 'archive', not after the temp file
        torch.save(dict(tensors), f)


_WRITERS = {".safetensors": _write_safetensors, ".npz": _write_npz, ".wts": _write_wts,
            ".pt": _write_torch, ".pth": _write_torch}


def _save_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in _WRITERS:
        raise ConfigError(f"cannot write checkpoint '{path}': unknown extension '{ext or 'none'}'; "
                          f"supported: {', '.join(SAVE_FORMATS)}")
    return ext


def save_checkpoint(state_dict: Mapping[str, torch.Tensor], path: PathLike) -> None:
    """Write `state_dict` in the format named by `path`'s extension (see SAVE_FORMATS), atomically.

    .wts stores every tensor as flat float32 (tensorrtx); .pt/.pth is torch.save of a plain dict.
    Raises ConfigError for an unknown extension, FileError for an unusable path (missing folder, a folder, not
    writable, disk full), CheckpointError for tensors the format cannot hold; `path` is never left half-written.
    """
    path = check_output_path(path, what="checkpoint")
    ext = _save_format(path)
    if not isinstance(state_dict, Mapping):
        hint = " (pass model.state_dict())" if hasattr(state_dict, "state_dict") else ""
        raise ConfigError(f"save_checkpoint: expected a state_dict (a mapping of names to tensors), "
                          f"got {type(state_dict).__name__}{hint}")
    try:
        tensors = _plain_tensors(state_dict)
        with atomic_path(path, "checkpoint") as tmp:
            _WRITERS[ext](tensors, tmp)
    except FileError:
        raise
    except Exception as e:
        detail = e.message if isinstance(e, CheckpointError) else f"{type(e).__name__}: {e}"
        raise CheckpointError(f"cannot write checkpoint '{path}': {detail}") from e


def convert(src: PathLike, dst: PathLike) -> int:
    """Copy the tensors of checkpoint `src` into `dst` (format from its extension); returns their count.

    `dst`'s extension and path are checked before `src` is read (ConfigError / FileError); `dst` may not be `src`.
    """
    dst = check_output_path(dst, what="converted checkpoint", not_same_as=[src])
    _save_format(dst)
    state_dict = load_checkpoint(src)
    save_checkpoint(state_dict, dst)
    return len(state_dict)


# --------------------------------------------------------------------------- metadata beside the weights

def _names(value: Any) -> Optional[Dict[int, str]]:
    """ultralytics' `names` (dict id -> name, or a list) as {int: str}, else None."""
    if isinstance(value, (list, tuple)):
        value = dict(enumerate(value))
    if isinstance(value, Mapping) and value and all(isinstance(k, int) for k in value):
        return {int(k): str(v) for k, v in sorted(value.items())}
    return None


def read_metadata(path: PathLike) -> Dict[str, Any]:
    """What a checkpoint says about its model besides the weights, read safely (nothing in the file runs): for
    ultralytics files `names` ({class id: name}), `task`, `imgsz`, `stride` (list), `yaml` (the model's yaml
    file name) and `ultralytics_version`, each only when present. Files without such metadata (plain state_dicts,
    safetensors, .npz, .wts) give {}."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file not found: '{path}'" if not os.path.exists(path)
                              else f"checkpoint '{path}' is not a file")
    try:
        kind = _detect(path)
        obj = _PICKLED[kind](path) if kind in _PICKLED else None
    except Exception as e:
        raise CheckpointError(f"cannot read the metadata of checkpoint '{path}': {_reason(e)}") from e
    if not isinstance(obj, Mapping):
        return {}
    model = next((s for s in (_module_state(obj.get(k)) for k in ("ema", "model")) if s is not None), {})
    train_args = obj.get("train_args") if isinstance(obj.get("train_args"), Mapping) else {}
    model_args = model.get("args") if isinstance(model.get("args"), Mapping) else {}
    out: Dict[str, Any] = {}
    names = _names(model.get("names"))
    if names:
        out["names"] = names
    for key in ("task", "imgsz"):
        value = train_args.get(key, model_args.get(key))
        if isinstance(value, (str, int, list)):
            out[key] = value
    stride = model.get("stride")
    if isinstance(stride, torch.Tensor):
        out["stride"] = [int(s) for s in stride.tolist()]
    yaml = model.get("yaml")
    if isinstance(yaml, Mapping) and isinstance(yaml.get("yaml_file"), str):
        out["yaml"] = yaml["yaml_file"]
    if isinstance(obj.get("version"), str):
        out["ultralytics_version"] = obj["version"]
    return out
