"""Read a registered model's constructor arguments (class count, channels) off a checkpoint's state_dict."""
from __future__ import annotations

import re
from typing import Any, Dict, Mapping


def config_from_state_dict(name: str, state: Mapping[str, Any]) -> Dict[str, Any]:
    """Keyword arguments for `trtnn.models.get(name)` that fit `state` (e.g. {'nc': 3}, {'n_classes': 1} or
    CenterNet's {'heads': {'hm': 80, 'wh': 2, 'reg': 2}, 'head_conv': 256})."""
    if name.startswith("unet"):
        out: Dict[str, Any] = {}
        if "outc.conv.weight" in state:
            out["n_classes"] = int(state["outc.conv.weight"].shape[0])
        if "inc.double_conv.0.weight" in state:
            out["n_channels"] = int(state["inc.double_conv.0.weight"].shape[1])
        return out
    if name.startswith("centernet"):  # heads {'hm': classes, 'wh': 2, 'reg': 2} and their hidden width
        heads = {h: int(state[f"{h}.2.weight"].shape[0]) for h in ("hm", "wh", "reg") if f"{h}.2.weight" in state}
        out = {"heads": heads} if heads else {}
        if "hm.0.weight" in state:
            out["head_conv"] = int(state["hm.0.weight"].shape[0])
        return out
    if name.startswith("yolov5"):
        for key, value in state.items():
            if re.fullmatch(r"model\.\d+\.m\.0\.weight", key):
                return {"nc": int(value.shape[0]) // 3 - 5}
    elif name.startswith(("yolov8", "yolo11")):
        heads = [k for k in state if re.fullmatch(r"model\.\d+\.cv3\.0\.2\.weight", k)]
        if heads:
            return {"nc": int(state[heads[0]].shape[0])}
    return {}
