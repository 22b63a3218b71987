"""Files: checkpoints in every format (`checkpoint`, one module per format in `formats/`), atomic writes (`files`),
the engine's JSON sidecar (`sidecar`). `trtnn.io.<module>` loads the module on first use."""
from importlib import import_module
from importlib.util import find_spec
from typing import Any


def __getattr__(name: str) -> Any:
    if not name.startswith("_") and find_spec(f"{__name__}.{name}") is not None:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'trtnn.io' has no attribute {name!r}")
