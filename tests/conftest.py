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
