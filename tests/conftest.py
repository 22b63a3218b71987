import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))  # tests/refmodels, tests/harness


def pytest_collection_modifyitems(config, items):
    from trtnn import backend

    ok, why = backend.runtime_status()
    if ok:
        return
    skip = pytest.mark.skip(reason=f"needs a GPU able to run TensorRT engines: {why}")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def npy(tmp_path):
    """A .npy calibration file (4, 3, 8, 8) for the precision CLI tests: 0.25 with the first 4 columns 1.0."""
    import numpy as np

    path = tmp_path / "x.npy"
    x = np.full((4, 3, 8, 8), 0.25, np.float32)
    x[..., :4] = 1.0
    np.save(path, x)
    return str(path)
