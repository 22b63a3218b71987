"""Property-based checks: indexing, reshaping and broadcasting agree with torch exactly on random cases."""
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import trtnn
from harness import Fn
from trtnn.reference import Executor

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)


def _run(fn, *xs):
    net = trtnn.define(Fn(fn), [trtnn.Input(f"x{i}", tuple(x.shape), x.dtype) for i, x in enumerate(xs)])
    return list(Executor(net)({f"x{i}": x for i, x in enumerate(xs)}).values())


@st.composite
def shapes_and_index(draw):
    shape = draw(st.lists(st.integers(1, 5), min_size=1, max_size=4))
    index = []
    for n in shape:
        kind = draw(st.sampled_from(["int", "slice", "full", "none"]))
        if kind == "int":
            index.append(draw(st.integers(-n, n - 1)))
        elif kind == "slice":
            start = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            stop = draw(st.one_of(st.none(), st.integers(-n - 1, n + 1)))
            index.append(slice(start, stop, draw(st.one_of(st.none(), st.integers(1, 3)))))
        elif kind == "full":
            index.append(slice(None))
        else:
            index.append(None)
            index.append(slice(None))
    return shape, tuple(index)


@SETTINGS
@given(shapes_and_index())
def test_getitem_matches_torch(case):
    shape, index = case
    x = torch.arange(int(torch.tensor(shape).prod()), dtype=torch.float32).reshape(shape)
    want = x[index]
    if want.numel() == 0:  # TensorRT has no zero-size slices to check here
        return
    (got,) = _run(lambda t: t[index], x)
    assert got.shape == want.shape and torch.equal(got, want)


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=1, max_size=4), st.data())
def test_broadcast_ops_match_torch(shape, data):
    other = [data.draw(st.sampled_from([1, n])) for n in shape][data.draw(st.integers(0, len(shape) - 1)):]
    a = torch.randn(shape, generator=torch.Generator().manual_seed(len(shape)))
    b = torch.randn(other, generator=torch.Generator().manual_seed(7)) if other else torch.randn(1)
    got = _run(lambda x, y: (x + y, x * y, x - y, torch_where_like(x, y)), a, b)
    want = [a + b, a * b, a - b, torch.where(a > b, a, b)]
    for g, w in zip(got, want):
        assert g.shape == w.shape and torch.equal(g, w)


def torch_where_like(x, y):
    return trtnn.functional.where(x > y, x, y)


@SETTINGS
@given(st.lists(st.integers(1, 4), min_size=2, max_size=4), st.data())
def test_permute_flatten_reshape_match_torch(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    start = data.draw(st.integers(0, len(shape) - 1))
    x = torch.arange(int(torch.tensor(shape).prod()), dtype=torch.float32).reshape(shape)
    got = _run(lambda t: (t.permute(*perm), t.flatten(start), t.reshape(-1, shape[-1])), x)
    want = [x.permute(*perm), x.flatten(start), x.reshape(-1, shape[-1])]
    for g, w in zip(got, want):
        assert g.shape == w.shape and torch.equal(g, w)
