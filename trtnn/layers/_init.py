"""torch.nn's default initializers, applied lazily when a Parameter is first read without being loaded."""
from __future__ import annotations

import math
from typing import Callable

import torch


def kaiming_uniform(fan_in: int) -> Callable[[torch.Tensor], None]:
    bound = 1.0 / math.sqrt(fan_in) if fan_in > 0 else 0.0  # kaiming_uniform_(a=sqrt(5)) == U(-1/sqrt(fan_in), ...)
    return lambda t: t.uniform_(-bound, bound)


def fill(value: float) -> Callable[[torch.Tensor], None]:
    return lambda t: t.fill_(value)
