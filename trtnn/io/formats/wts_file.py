"""tensorrtx .wts weights: a line with the tensor count, then `name count hex...` per tensor (big-endian float32)."""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch

from ...errors import CheckpointError

EXACT_INT = 2 ** 24  # integers up to this magnitude survive .wts's float32 exactly
HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def _values(rest: str, n: int, line_no: int, key: str, complete: bool) -> np.ndarray:
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
        if not (0 < len(h) <= 8 and HEX_DIGITS.issuperset(h)):
            raise CheckpointError(f"line {line_no}: '{key}' value {i + 1} is {h[:20]!r}, "
                                  "not a float32 in hex (1 to 8 hex digits)")
    return np.array([int(h, 16) for h in hexes], dtype=np.uint32).view(np.float32)


def _text(raw: bytes, line_no: int) -> str:
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError as e:
        raise CheckpointError(f"line {line_no}: not ASCII text (byte {raw[e.start]:#04x} at column {e.start + 1})"
                              ) from None


def read(path: str) -> "OrderedDict[str, torch.Tensor]":
    """tensorrtx weights: a line with the tensor count, then `name count hex...` per tensor."""
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    with open(path, "rb") as f:
        first = _text(f.readline(), 1).split()
        if len(first) != 1 or not first[0].isdigit():
            raise CheckpointError(f"line 1: expected the number of tensors, got {' '.join(first)[:40]!r}")
        count, line_no = int(first[0]), 1
        for line_no, raw in enumerate(f, start=2):
            parts = _text(raw, line_no).split(None, 2)
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
            out[key] = torch.from_numpy(_values(rest, int(parts[1]), line_no, key, raw.endswith(b"\n")))
    if len(out) < count:
        last = f"; the last, '{next(reversed(out))}', is on line {line_no}" if out else ""
        raise CheckpointError(f"truncated or miscounted: line 1 announces {count} tensors, "
                              f"the file holds {len(out)}{last}")
    return out


def write(tensors: "OrderedDict[str, torch.Tensor]", tmp: str) -> None:
    """Every tensor as flat big-endian float32 hex: floats of other widths are rounded to float32; integers
    must fit float32 exactly (|v| <= 2**24) and come back as integers when loaded into a model."""
    for k, t in tensors.items():
        if not k or any(c.isspace() for c in k) or not k.isascii() or t.is_complex():
            raise CheckpointError(f"'{k}' cannot be stored in .wts (names must be ASCII without spaces, values real)")
        if not t.is_floating_point() and t.numel() and t.dtype != torch.bool and t.abs().max() > EXACT_INT:
            raise CheckpointError(f"'{k}' holds integers beyond 2**24 ({int(t.abs().max())}), which .wts's float32 "
                                  "cannot store exactly; use .safetensors")
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        f.write(f"{len(tensors)}\n")
        for k, t in tensors.items():
            values = t.reshape(-1).to(torch.float32).numpy().astype(">f4").tobytes().hex(" ", 4)
            f.write(f"{k} {t.numel()} {values}".rstrip() + "\n")
