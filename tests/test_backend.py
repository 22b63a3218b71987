"""Backend selection: TRTNN_BACKEND forces one; a missing backend is a clear error saying how to install one."""
import os
import subprocess
import sys

import pytest


def _info(backend):
    env = dict(os.environ, TRTNN_BACKEND=backend)
    code = "import trtnn\ntry:\n    print(trtnn.backend.name())\nexcept trtnn.BackendError as e:\n    print('ERR', e)\n"
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout


def test_forced_backend():
    assert _info("tensorrt_rtx").strip() == "tensorrt_rtx"


def test_unknown_backend_name():
    assert "ERR TRTNN_BACKEND='bogus' is not one of tensorrt, tensorrt_rtx" in _info("bogus")


def test_missing_backend_says_how_to_install():
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        out = _info("tensorrt")
        assert out.startswith("ERR no TensorRT Python package could be imported")
        assert "pip install tensorrt-rtx-cu12==1.7.1.116" in out
    else:
        pytest.skip("full TensorRT is installed here")
