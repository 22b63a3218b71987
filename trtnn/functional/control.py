"""Control flow (a trtnn extension, no torch counterpart): fixed_point as a TensorRT while-loop."""
from __future__ import annotations

from typing import Any

import torch

from ..graph.tensor import Tensor
from .core import layer_output, cast
from .elementwise import gt, ne
from .reduce import amax


def fixed_point(fn: Any, init: Tensor) -> Tensor:
    """Iterate `x = fn(x)` from `init` inside one TensorRT while-loop until x stops changing; return that x.

    `fn` (Tensor -> Tensor of the same shape and non-bool dtype) runs at least once and must reach a fixed point,
    e.g. a triangular update x[i] = f(x[:i]), exact after at most len(x) + 1 iterations.
    """
    ctx, trt = init.ctx, init.ctx.trt
    loop = ctx.network.add_loop()
    name = ctx.unique(ctx.join("fixed_point"))
    loop.name = name
    rec_x = loop.add_recurrence(init.use())
    rec_go = loop.add_recurrence(ctx.constant(torch.tensor(True)).use())
    trip = loop.add_trip_limit(rec_go.get_output(0), trt.TripLimit.WHILE)
    for layer, part in ((rec_x, "x"), (rec_go, "go"), (trip, "while")):
        ctx.name_layer(layer, f"{name}:{part}")
    x = layer_output(rec_x, ctx)
    y = fn(x)
    rec_x.set_input(1, y.use())
    rec_go.set_input(1, gt(amax(cast(ne(y, x), torch.float32)), 0.0).use())
    out = loop.add_loop_output(rec_x.get_output(0), trt.LoopOutput.LAST_VALUE)  # = y at exit: unchanged
    ctx.name_layer(out, f"{name}:out")
    return layer_output(out, ctx)
