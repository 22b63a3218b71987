"""Image data sets: YOLO-format folders (images/<split>/*.jpg with labels/<split>/*.txt) read as uint8 batches and
pixel boxes, and the image files of a folder."""
from __future__ import annotations

import os
from typing import Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

from ...errors import ConfigError, FileError
from .host import letterbox, opencv

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")

def image_files(folder: str) -> List[str]:
    """The image files (IMAGE_SUFFIXES) of `folder`, sorted, as paths."""
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.lower().endswith(IMAGE_SUFFIXES))


def read_labels(path: str, width: int, height: int) -> Tuple[np.ndarray, np.ndarray]:
    """A YOLO label file (class cx cy w h, normalized) -> classes [M] int and xyxy pixel boxes [M, 4]."""
    if not os.path.exists(path):
        return np.zeros(0, int), np.zeros((0, 4))
    rows = [line.split() for line in open(path) if line.strip()]
    try:
        table = np.array([[float(v) for v in r[:5]] for r in rows], dtype=np.float64).reshape(-1, 5)
    except ValueError:
        raise FileError(f"label file '{path}': expected 'class cx cy w h' numbers on every line") from None
    cx, cy, w, h = (table[:, i] for i in range(1, 5))
    boxes = np.stack([(cx - w / 2) * width, (cy - h / 2) * height, (cx + w / 2) * width, (cy + h / 2) * height], 1)
    return table[:, 0].astype(int), boxes


class Batch(NamedTuple):
    """images [B, H, W, 3] uint8 BGR; orig_sizes [B, 2] (h, w) int32; targets [(classes [M], xyxy boxes [M, 4] in
    original pixels)]; ratio_pads [((gain_y, gain_x), (left, top))] of the letterbox, as ultralytics' scale_boxes
    takes them."""

    images: np.ndarray
    orig_sizes: np.ndarray
    targets: List[Tuple[np.ndarray, np.ndarray]]
    ratio_pads: List[Tuple[Tuple[float, float], Tuple[int, int]]]


class YoloImages:
    """The images of `root/images/<split>` (sorted) with their labels from `root/<labels>/<split>`."""

    def __init__(self, root: str, split: str = "val", labels: str = "labels", limit: int = 0) -> None:
        folder = os.path.join(root, "images", split)
        if not os.path.isdir(folder):
            raise FileError(f"data set '{root}': no folder images/{split}")
        self.files = image_files(folder)
        if limit:
            self.files = self.files[:limit]
        self.label_dir = os.path.join(root, labels, split)

    def __len__(self) -> int:
        return len(self.files)

    def batches(self, batch: int, imgsz: Optional[Tuple[int, int]] = None, scaleup: bool = True) -> Iterator[Batch]:
        """Batches of the images as OpenCV reads them (uint8 BGR), letterboxed to imgsz (h, w) when given."""
        cv2 = opencv()
        for i in range(0, len(self.files), batch):
            files = self.files[i:i + batch]
            images, sizes, targets, ratio_pads = [], [], [], []
            for f in files:
                im = cv2.imread(f)
                if im is None:
                    raise FileError(f"cannot read image '{f}'")
                stem = os.path.splitext(os.path.basename(f))[0]
                targets.append(read_labels(os.path.join(self.label_dir, stem + ".txt"), im.shape[1], im.shape[0]))
                sizes.append(im.shape[:2])
                im, ratio_pad = letterbox(im, imgsz, scaleup) if imgsz else (im, ((1.0, 1.0), (0, 0)))
                images.append(im)
                ratio_pads.append(ratio_pad)
            if len({im.shape for im in images}) > 1:
                raise ConfigError(f"images of different sizes in {files}: give imgsz to letterbox them")
            yield Batch(np.stack(images), np.array(sizes, np.int32), targets, ratio_pads)
