"""Per-image results of an end-to-end engine (trtnn/models/outputs.py says what each output holds): boxes, scores,
classes with their names, masks, keypoints (with names), rotated boxes, class probabilities, semantic masks."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np
import torch

from ..errors import ConfigError

COCO_KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                  "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                  "right_knee", "left_ankle", "right_ankle")
DETECTION_TASKS = ("detect", "segment", "pose", "obb")


@dataclass
class Results:
    """One image's results. Detections (rows = detections, best first): `boxes` [n, 4] x1 y1 x2 y2 (obb: [n, 5] cx cy
    w h angle), `scores` [n], `classes` [n] (ids into `names`), `masks` [n, H, W] bool, `keypoints` [n, K, 3] (x, y,
    visibility) named by `keypoint_names`. Classification: `probs` [nc], `top5`. Semantic segmentation: `semantic`
    [H, W] class per pixel."""

    task: str
    names: Dict[int, str]
    boxes: np.ndarray = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    scores: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.float32))
    classes: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int64))
    masks: Optional[np.ndarray] = None
    keypoints: Optional[np.ndarray] = None
    keypoint_names: Sequence[str] = ()
    probs: Optional[np.ndarray] = None
    semantic: Optional[np.ndarray] = None
    image: Optional[np.ndarray] = None  # the image these coordinates refer to (set by Runner.predict)

    def __len__(self) -> int:
        return len(self.scores) if self.probs is None and self.semantic is None else 1

    @property
    def labels(self) -> List[str]:
        """The class name of each detection (the id as text when the engine has no name for it)."""
        return [self.names.get(int(c), str(int(c))) for c in self.classes]

    @property
    def top5(self) -> List[int]:
        if self.probs is None:
            return []
        return [int(i) for i in np.argsort(-self.probs, kind="stable")[:5]]

    def summary(self) -> List[Dict[str, Any]]:
        """A list of plain dicts (ultralytics' `Results.summary()` shape): name, class, confidence, box, and
        keypoints / mask area where the task has them; classification: the top 5."""
        if self.probs is not None:
            return [{"name": self.names.get(i, str(i)), "class": i, "confidence": float(self.probs[i])}
                    for i in self.top5]
        if self.semantic is not None:
            ids, counts = np.unique(self.semantic, return_counts=True)
            return [{"name": self.names.get(int(i), str(int(i))), "class": int(i), "pixels": int(n)}
                    for i, n in zip(ids, counts)]
        out = []
        for k in range(len(self)):
            row: Dict[str, Any] = {"name": self.labels[k], "class": int(self.classes[k]),
                                   "confidence": float(self.scores[k])}
            keys = ("x1", "y1", "x2", "y2") if self.boxes.shape[1] == 4 else ("cx", "cy", "w", "h", "angle")
            row["box"] = {key: float(v) for key, v in zip(keys, self.boxes[k])}
            if self.keypoints is not None:
                row["keypoints"] = {name: [float(v) for v in self.keypoints[k, j]]
                                    for j, name in enumerate(self.keypoint_names)}
            if self.masks is not None:
                row["mask_pixels"] = int(self.masks[k].sum())
            out.append(row)
        return out

    def __repr__(self) -> str:
        if self.probs is not None:
            return f"Results(classify, top5={[self.names.get(i, str(i)) for i in self.top5]})"
        if self.semantic is not None:
            return f"Results(semantic-segment, {self.semantic.shape[0]}x{self.semantic.shape[1]})"
        return f"Results({self.task}, {len(self)} detections: {self.labels[:8]}{'...' if len(self) > 8 else ''})"


def _np(t: Any) -> np.ndarray:
    return t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else np.asarray(t)


def keypoint_names(count: int, given: Optional[Sequence[str]] = None) -> List[str]:
    if given is not None and len(given) == count:
        return list(given)
    return list(COCO_KEYPOINTS) if count == len(COCO_KEYPOINTS) else [f"kpt{i}" for i in range(count)]


def results_from(outputs: Mapping[str, Any], task: Optional[str], names: Mapping[Any, str],
                 kpt_names: Optional[Sequence[str]] = None) -> List[Results]:
    """Split an end-to-end engine's outputs (a batch) into one Results per image. Raw head outputs are refused: their
    decoding and NMS are the caller's (build with --end2end)."""
    names = {int(k): v for k, v in names.items()}
    if "num_dets" in outputs:
        return _detections(outputs, task if task in DETECTION_TASKS else "detect", names, kpt_names)
    if "probs" in outputs:
        return [Results("classify", names, probs=p) for p in _np(outputs["probs"]).astype(np.float32)]
    if "mask" in outputs or task == "semantic-segment":
        return _semantic(outputs, names)
    raise ConfigError(f"the outputs {sorted(outputs)} are a model's raw head outputs (task {task!r}); results and "
                      "drawing need an end-to-end engine (trtnn build ... --end2end), whose decoding and NMS run "
                      "inside it")


def _detections(outputs: Mapping[str, Any], task: str, names: Dict[int, str],
                kpt_names: Optional[Sequence[str]]) -> List[Results]:
    counts = _np(outputs["num_dets"]).reshape(-1)
    boxes, scores, classes = (_np(outputs[k]) for k in ("det_boxes", "det_scores", "det_classes"))
    masks = _np(outputs["det_masks"]) if "det_masks" in outputs else None
    kpts = _np(outputs["det_keypoints"]) if "det_keypoints" in outputs else None
    kn = keypoint_names(kpts.shape[2], kpt_names) if kpts is not None else ()
    out = []
    for b, n in enumerate(counts):
        n = int(n)
        out.append(Results(task, names, boxes[b, :n].astype(np.float32), scores[b, :n].astype(np.float32),
                           classes[b, :n].astype(np.int64), None if masks is None else masks[b, :n] > 0,
                           None if kpts is None else kpts[b, :n].astype(np.float32), kn))
    return out


def _semantic(outputs: Mapping[str, Any], names: Dict[int, str]) -> List[Results]:
    if "mask" in outputs:
        mask = _np(outputs["mask"])
        mask = mask[:, 0] if mask.ndim == 4 else mask
    else:
        logits = _np(next(iter(outputs.values()))).astype(np.float32)
        mask = (logits[:, 0] > 0) if logits.shape[1] == 1 else logits.argmax(1)
    return [Results("semantic-segment", names, semantic=m.astype(np.int64)) for m in mask]
