"""Which format a weight file is in, told by its content (never by its name alone), and its reader."""
from __future__ import annotations

import os
from typing import Any

from ...errors import CheckpointError
from . import npz_file, safetensors_file, torch_file, wts_file

SAVE_FORMATS = (".safetensors", ".npz", ".wts", ".pt", ".pth")

PICKLED = {"torch": torch_file.read_zip, "torch-legacy": torch_file.read_legacy, "torch-tar": torch_file.read_tar}
TENSOR_FILES = {"safetensors": safetensors_file.read, "npz": npz_file.read, "wts": wts_file.read}


def existing_file(path: Any) -> str:
    """`path` as a str, when it names a file (CheckpointError otherwise)."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint file not found: '{path}'" if not os.path.exists(path)
                              else f"checkpoint '{path}' is not a file")
    return path


def detect(path: str) -> str:
    """'torch', 'torch-legacy', 'torch-tar', 'safetensors', 'npz' or 'wts', from the first bytes of the file."""
    with open(path, "rb") as f:
        head = f.read(512)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        with torch_file.open_zip(path) as zf:
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


def reason(e: BaseException) -> str:
    """What went wrong reading a file, in words (raw parser errors of a cut-short file say 'truncated')."""
    if isinstance(e, CheckpointError):
        return e.message
    text = f"{type(e).__name__}: {e}"
    if isinstance(e, EOFError) or "truncat" in str(e).lower():
        return f"truncated: the file ends in the middle of its data ({text})"
    if isinstance(e, OSError):
        return e.strerror or text
    return f"corrupt or not a checkpoint ({text})"
