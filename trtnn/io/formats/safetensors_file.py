"""safetensors files: the header checked against the file's size before anything is read; the key order kept in
the metadata."""
from __future__ import annotations

import json
import os
import struct
from collections import OrderedDict
from typing import Any, Dict, Tuple

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from ...errors import CheckpointError

KEY_ORDER = "trtnn_key_order"  # safetensors metadata entry keeping the key order
MAX_HEADER = 100_000_000  # bytes; safetensors itself refuses larger headers


def read_header(path: str) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The tensor entries and the metadata of a safetensors file, checked against the file's size."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        if n > MAX_HEADER:
            raise CheckpointError(f"safetensors header length {n} is too large (more than "
                                  f"{MAX_HEADER // 1_000_000} MB): corrupt or not a safetensors file")
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


def read(path: str) -> "OrderedDict[str, torch.Tensor]":
    header, meta = read_header(path)
    names = sorted(header, key=lambda k: header[k]["data_offsets"][0])  # file order
    try:
        order = json.loads(meta.get(KEY_ORDER, "[]"))
    except (TypeError, ValueError):
        order = []  # a foreign or damaged entry: keep the file's order
    if isinstance(order, list) and all(isinstance(k, str) for k in order) and sorted(order) == sorted(names):
        names = order
    with safe_open(path, framework="pt") as f:
        return OrderedDict((k, f.get_tensor(k)) for k in names)


def write(tensors: "OrderedDict[str, torch.Tensor]", tmp: str) -> None:
    save_file(dict(tensors), tmp, metadata={"format": "pt", KEY_ORDER: json.dumps(list(tensors))})
    _sort_metadata(tmp)


def _sort_metadata(path: str) -> None:
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
