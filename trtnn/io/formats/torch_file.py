"""torch.save files read safely: the zip format (torch >= 1.6), the legacy pickle format, and a refusal for the
pre-0.4 tar format; and torch.save of a plain dict."""
from __future__ import annotations

import io
import os
import struct
import sys
import zipfile
from typing import Any, Dict, Tuple

import torch

from ...errors import CheckpointError
from .unpickler import SafeUnpickler, byteswap, flat, storage_id

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_PROTOCOL = 1001


def open_zip(path: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except zipfile.BadZipFile as e:
        raise CheckpointError(f"truncated or corrupt zip archive: its directory at the end is unreadable ({e})") from e


def read_zip(path: str) -> Any:
    size = os.path.getsize(path)
    with open_zip(path) as zf:
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
            dtype, key, numel = storage_id(pid, 5)
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
                    byteswap(buf, dtype)
                storages[key] = flat(buf, dtype)
            return storages[key]

        return SafeUnpickler(io.BytesIO(zf.read(pickles[0])), load_storage).load()


def read_legacy(path: str) -> Any:
    """The pre-1.6 format: pickles for magic, version, sys info, the object, storage keys; then the storages,
    each an int64 element count and its data, both little-endian whatever machine wrote them."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        if SafeUnpickler(f).load() != LEGACY_MAGIC:
            raise CheckpointError("a pickle file, not a torch.save checkpoint (no torch magic number)")
        if SafeUnpickler(f).load() != LEGACY_PROTOCOL:
            raise CheckpointError("unsupported legacy torch protocol version")
        SafeUnpickler(f).load()  # sys info
        storages: Dict[str, Tuple[torch.dtype, bytearray]] = {}  # filled once the object is read

        def load_storage(pid: Any) -> Any:
            if isinstance(pid, tuple) and len(pid) == 4 and pid[0] == "module":
                return pid[1]  # a pickled module's class, with its source
            dtype, key, numel = storage_id(pid, 6)
            if key not in storages:
                if numel * dtype.itemsize > size:
                    raise CheckpointError(f"truncated or corrupt: storage '{key}' claims {numel} elements, "
                                          "more than the file holds")
                storages[key] = (dtype, bytearray(numel * dtype.itemsize))
            buf, view = storages[key][1], pid[5]
            if view is None:
                return flat(buf, dtype)
            _, offset, count = view  # a storage that is a slice of another one
            return flat(buf, dtype, offset, count)

        result = SafeUnpickler(f, load_storage).load()
        for key in SafeUnpickler(f).load():
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
                byteswap(buf, dtype)
        return result


def read_tar(path: str) -> Any:
    raise CheckpointError("a legacy tar checkpoint (PyTorch < 0.4) cannot be read safely; pass trusted=True")


def write_torch(tensors: Dict[str, torch.Tensor], tmp: str) -> None:
    with open(tmp, "wb") as f:  # a file object: the archive is named 'archive', not after the temp file
        torch.save(dict(tensors), f)
