"""Read and write weight files without trusting them.

Reads torch.save checkpoints (zip and legacy formats) through a restricted unpickler that never
imports or calls anything named in the file, plus safetensors, numpy .npz and tensorrtx .wts.
Writes .safetensors, .npz, .wts and .pt/.pth, atomically.

Checkpoints holding whole pickled modules (ultralytics' 'model' / 'ema') are read without the
package that defined them and return what `module.float().state_dict()` would: floating-point
tensors upcast to float32, everything else unchanged. Plain state_dicts keep their stored dtypes.
"""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Mapping, Union

import torch

from ..errors import CheckpointError, ConfigError, FileError
from .files import atomic_path, check_output_path
from .formats import npz_file, safetensors_file, torch_file, wts_file
from .formats.detect import PICKLED, SAVE_FORMATS, TENSOR_FILES, detect, existing_file, reason
from .formats.objects import WRAPPER_KEYS, state_dict_from_object
from .formats.ultralytics import read_metadata

PathLike = Union[str, "os.PathLike[str]"]
__all__ = ["SAVE_FORMATS", "WRAPPER_KEYS", "convert", "load_checkpoint", "read_metadata", "save_checkpoint"]


def load_checkpoint(path: PathLike, *, trusted: bool = False) -> "OrderedDict[str, torch.Tensor]":
    """Read a checkpoint's tensors as an ordered state_dict, never running code from the file.

    The format is recognised by content: torch.save (zip or legacy), safetensors, .npz, tensorrtx .wts.
    Dicts without tensors are unwrapped through WRAPPER_KEYS; pickled modules give their state_dict();
    non-tensor entries are dropped and a `module.` prefix shared by every key is stripped.
    `trusted=True` falls back to `torch.load(weights_only=False)` (which runs the file's pickle) for
    torch files the safe reader cannot handle (TorchScript, legacy tar, quantized tensors...).
    """
    path = existing_file(path)
    kind = ""
    try:
        kind = detect(path)
        if kind in TENSOR_FILES:
            return TENSOR_FILES[kind](path)
        try:
            return state_dict_from_object(PICKLED[kind](path))
        except Exception:
            if not trusted:
                raise
        return state_dict_from_object(torch.load(path, map_location="cpu", weights_only=False))
    except Exception as e:
        fmt = f" ({kind} format)" if kind else ""
        raise CheckpointError(f"cannot load checkpoint '{path}'{fmt}: {reason(e)}") from e


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


_WRITERS = {".safetensors": safetensors_file.write, ".npz": npz_file.write, ".wts": wts_file.write,
            ".pt": torch_file.write_torch, ".pth": torch_file.write_torch}


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
