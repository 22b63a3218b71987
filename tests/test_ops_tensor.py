"""Tensor ops (flip, roll, repeat/tile/expand, tril/triu, masked_fill, cumsum, einsum, arange, *_like) against torch."""
import pytest
import torch

import trtnn
from harness import Fn, Random, check

r = Random(3)
g = r.generator


X = r(2, 3, 4, 5)
M = r(4, 5) > 0
I = torch.randint(-5, 5, (3, 4), generator=g, dtype=torch.int32)

CASES = {
    "flip_one": (lambda F, x: F.flip(x, [1]), [X]),
    "flip_many": (lambda F, x: F.flip(x, (0, -1, 2)), [X]),
    "flip_method": (lambda F, x: x.flip(3, 1), [X]),
    "roll_dim": (lambda F, x: F.roll(x, 2, 3), [X]),
    "roll_negative_many": (lambda F, x: F.roll(x, (-3, 7), (2, 1)), [X]),
    "roll_flat": (lambda F, x: F.roll(x, 11), [X]),
    "roll_method": (lambda F, x: x.roll((1, 1), (2, 3)), [X]),
    "repeat": (lambda F, x: x.repeat(2, 1, 3, 1), [X]),
    "repeat_new_dims": (lambda F, x: x.repeat(2, 1, 2, 3), [r(3, 4, 5)]),
    "tile_short": (lambda F, x: F.tile(x, (2, 3)), [X]),
    "tile_method_long": (lambda F, x: x.tile((2, 1, 2)), [r(4, 5)]),
    "expand": (lambda F, x: x.expand(3, -1, 4, 5), [r(1, 3, 1, 5)]),
    "tril": (lambda F, x: F.tril(x), [X]),
    "tril_diag": (lambda F, x: F.tril(x, -1), [X]),
    "triu_diag_method": (lambda F, x: x.triu(2), [X]),
    "triu_int": (lambda F, x: F.triu(x, 1), [I]),
    "masked_fill_const_mask": (lambda F, x: x.masked_fill(M, -1.5), [X]),
    "masked_fill_input_mask": (lambda F, x, m: F.masked_fill(x, m, -1e4), [X, M]),
    "masked_fill_int": (lambda F, x: x.masked_fill(x > 0, 7), [I]),
    "cumsum": (lambda F, x: F.cumsum(x, 2), [X]),
    "cumsum_neg_method": (lambda F, x: x.cumsum(-1), [X]),
    "cumsum_int_to_int64": (lambda F, x: F.cumsum(x, 0), [I]),
    "cumsum_dtype": (lambda F, x: F.cumsum(x, 1, dtype=torch.float32), [I]),
    "einsum_matmul": (lambda F, a, b: F.einsum("bij,bjk->bik", a, b), [r(2, 3, 4), r(2, 4, 5)]),
    "einsum_list_transpose": (lambda F, a: F.einsum("nchw->nhwc", [a]), [X]),
    "einsum_attention": (lambda F, q, k: F.einsum("bhqd, bhkd -> bhqk", q, k), [r(2, 3, 5, 4), r(2, 3, 6, 4)]),
    "einsum_const_operand": (lambda F, a: F.einsum("ij,jk->ik", a, WE), [r(3, 4)]),
    "arange_add": (lambda F, x: x + F.arange(5), [X]),
    "arange_step_dtype": (lambda F, x: x * F.arange(1, 3, 0.5, dtype=torch.float32).reshape(4, 1), [X]),
    "zeros_like": (lambda F, x: F.zeros_like(x), [X]),
    "ones_like_dtype": (lambda F, x: F.ones_like(x, dtype=torch.int32), [X]),
    "full_like": (lambda F, x: F.full_like(x, 2.5) + x, [X]),
    "unflatten_method": (lambda F, x: x.unflatten(-1, (1, 5)), [X]),
}
WE = r(4, 6)


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_tensor_op(name, dtype):
    fn, inputs = CASES[name]
    if dtype == "fp16":
        inputs = [x.half() if x.is_floating_point() else x for x in inputs]
        if name in ("einsum_const_operand", "arange_step_dtype"):
            pytest.skip("an fp32 constant operand: torch promotes (or refuses), trtnn constants take the input's dtype")
    check(fn, inputs, dtype=dtype, build=dtype == "fp32" and name in ("roll_negative_many", "cumsum", "einsum_matmul",
                                                                       "tril", "repeat", "flip_many"))


def test_zeros_like_dynamic_shape():
    net = trtnn.define(Fn(lambda x: trtnn.functional.ones_like(x) * 3), [trtnn.Input("x", (-1, 3), torch.float32,
                                                                                        min_shape=(1, 3), max_shape=(4, 3))])
    out = trtnn.reference.Executor(net)({"x": r(4, 3)})
    assert torch.equal(next(iter(out.values())), torch.full((4, 3), 3.0))
