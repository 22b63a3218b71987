"""trtnn.Parameter: a named weight holding its value (a CPU torch tensor) until the build reads it."""
from __future__ import annotations

from typing import Any, Callable, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from .. import dtypes

Init = Callable[[torch.Tensor], Any]


class Parameter:
    """A weight of known shape and dtype. Its value is materialized lazily (by `init`, else zeros)."""

    def __init__(
        self,
        shape_or_value: Union[Sequence[int], torch.Tensor, np.ndarray],
        dtype: Any = torch.float32,
        init: Optional[Init] = None,
    ) -> None:
        if isinstance(shape_or_value, (torch.Tensor, np.ndarray)):
            value = torch.as_tensor(shape_or_value).detach().cpu()
            self.shape: Tuple[int, ...] = tuple(value.shape)
            self.dtype = value.dtype
            self._data: Optional[torch.Tensor] = value
        else:
            self.shape = tuple(int(d) for d in shape_or_value)
            self.dtype = dtypes.to_torch(dtype)
            self._data = None
        self._init = init

    @property
    def data(self) -> torch.Tensor:
        if self._data is None:
            value = torch.zeros(self.shape, dtype=self.dtype)
            if self._init is not None:
                self._init(value)
            self._data = value
        return self._data

    @data.setter
    def data(self, value: torch.Tensor) -> None:
        self._data = value
        self.shape, self.dtype = tuple(value.shape), value.dtype

    def numel(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def numpy(self) -> np.ndarray:
        return self.data.numpy()

    def to(self, dtype: Any) -> "Parameter":
        """Convert in place (like Module.to); returns self."""
        self.data = self.data.to(dtypes.to_torch(dtype))
        return self

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={dtypes.short(self.dtype)})"
