"""numpy .npz archives of tensors (no pickles read or written)."""
from __future__ import annotations

import zipfile
from collections import OrderedDict

import numpy as np
import torch

from ...errors import CheckpointError


def read(path: str) -> "OrderedDict[str, torch.Tensor]":
    with np.load(path, allow_pickle=False) as npz:
        out = OrderedDict()
        for k in npz.files:
            a = npz[k]
            out[k] = torch.from_numpy(a.astype(a.dtype.newbyteorder("="), copy=False))
        return out


def write(tensors: "OrderedDict[str, torch.Tensor]", tmp: str) -> None:
    arrays = []
    for k, t in tensors.items():
        if t.dtype == torch.bfloat16:
            raise CheckpointError(f"'{k}' is bfloat16, which .npz cannot hold; use .safetensors")
        arrays.append((k, t.numpy()))
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        for k, a in arrays:
            with zf.open(k + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, a, allow_pickle=False)
