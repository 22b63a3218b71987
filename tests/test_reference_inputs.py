"""Bad inputs to the CPU executor raise InputError naming the input, what was expected and what was given."""
from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from ref_util import Net, trt
from trtnn.errors import InputError
from trtnn.reference import Executor


@pytest.fixture(scope="module")
def ex():
    n = Net()
    x = n.input("x", (-1, 3, 4, 4))
    ids = n.input("ids", (2,), trt.int32)
    r = n.net.add_activation(x, trt.ActivationType.RELU)
    c = n.net.add_cast(ids, trt.float32)
    n.output(r.get_output(0), c.get_output(0))
    executor = Executor(n.net)
    executor._keep = n  # the builder must outlive the network
    return executor


def good():
    return {"x": np.zeros((2, 3, 4, 4), np.float32), "ids": np.array([1, 2], np.int32)}


def test_good_inputs_dict_and_sequence(ex):
    out = ex(good())
    assert list(out.values())[1].tolist() == [1.0, 2.0]
    out = ex([torch.ones(1, 3, 4, 4), torch.tensor([5, 6], dtype=torch.int32)])
    assert list(out.values())[0].shape == (1, 3, 4, 4)


def test_unknown_name(ex):
    inputs = good()
    inputs["y"] = inputs.pop("x")
    with pytest.raises(InputError, match=r"unknown input\(s\) \['y'\]") as e:
        ex(inputs)
    assert "'x' (-1, 3, 4, 4) float32" in str(e.value) and "'ids' (2,) int32" in str(e.value)


def test_missing_input(ex):
    inputs = good()
    del inputs["ids"]
    with pytest.raises(InputError, match=r"missing input\(s\) \['ids'\]") as e:
        ex(inputs)
    assert "'ids' (2,) int32" in str(e.value)


def test_wrong_shape(ex):
    inputs = good()
    inputs["x"] = np.zeros((2, 3, 5, 4), np.float32)
    with pytest.raises(InputError) as e:
        ex(inputs)
    msg = str(e.value)
    assert msg.startswith("input 'x'")
    assert "expected shape (-1, 3, 4, 4)" in msg and "got shape (2, 3, 5, 4)" in msg


def test_wrong_rank(ex):
    inputs = good()
    inputs["ids"] = np.array([[1, 2]], np.int32)
    with pytest.raises(InputError, match=re.escape("input 'ids': expected shape (2,)")):
        ex(inputs)


def test_wrong_dtype(ex):
    inputs = good()
    inputs["x"] = np.zeros((2, 3, 4, 4), np.float64)
    with pytest.raises(InputError) as e:
        ex(inputs)
    msg = str(e.value)
    assert "input 'x'" in msg and "dtype float32" in msg and "dtype float64" in msg


def test_wrong_count_and_type(ex):
    with pytest.raises(InputError, match=r"got 1 inputs, the network takes 2: 'x' \(-1, 3, 4, 4\) float32"):
        ex([np.zeros((1, 3, 4, 4), np.float32)])
    with pytest.raises(InputError, match=r"input 'ids': expected a numpy array or torch tensor of shape \(2,\)"):
        ex({"x": np.zeros((1, 3, 4, 4), np.float32), "ids": [1, 2]})


def test_trtnn_network_profile_is_checked():
    import trtnn
    import trtnn.nn as nn
    from trtnn.reference import Executor

    inp = trtnn.Input("x", (-1, 3, 4, 4), min_shape=(1, 3, 4, 4), max_shape=(2, 3, 4, 4))
    ex = Executor(trtnn.define(nn.ReLU(), [inp]))
    assert ex({"x": torch.ones(2, 3, 4, 4)})["output"].shape == (2, 3, 4, 4)
    with pytest.raises(trtnn.InputError, match=r"input 'x': shape \(3, 3, 4, 4\) is outside the network's profile "
                                               r"\(min \(1, 3, 4, 4\), max \(2, 3, 4, 4\)\)"):
        ex({"x": torch.ones(3, 3, 4, 4)})
