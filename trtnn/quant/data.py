"""Calibration data: input dicts from Python iterables, .npy/.npz files (or a folder of them), or image folders
preprocessed as each model family's own pipeline does (its `TaskSpec.preprocess`; the pipelines are in
trtnn.models.vision.host).
"""
from __future__ import annotations

import hashlib
import itertools
import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from ..errors import ConfigError, FileError
from ..models.registry import SPECS
from ..models.vision.data import IMAGE_SUFFIXES, image_files
from ..models.vision.host import opencv, preprocess_name

log = logging.getLogger("trtnn.quant")
Feed = Dict[str, Any]
Preprocess = Callable[[np.ndarray, Tuple[int, int]], np.ndarray]  # (BGR uint8 HxWx3, (h, w)) -> float32 CHW


def spec_preprocessing(name: str) -> Tuple[Preprocess, str]:
    """(host preprocessing, input name) of a registered model or family name."""
    spec = SPECS.get(name) or next((s for s in SPECS.values() if s.family == name), None)
    if spec is None:
        raise ConfigError(f"no image preprocessing for {name!r}: not a registered model or family (e.g. "
                          f"{', '.join(sorted(s.family for s in SPECS.values())[:6])}, ...); give one, or a function "
                          "(BGR uint8 image, (h, w)) -> float32 CHW array")
    return spec.preprocess, spec.input_name


def _files_hash(files: Sequence[str]) -> str:
    """sha256 over the files' names, sizes and modification times (a changed image changes it; nothing is read)."""
    h = hashlib.sha256()
    for f in files:
        st = os.stat(f)
        h.update(f"{os.path.basename(f)} {st.st_size} {st.st_mtime_ns}\n".encode())
    return h.hexdigest()


# image formats OpenCV reads here: (suffixes, leading signature)
_SIGNATURES = ((".jpg .jpeg", b"\xff\xd8\xff", "JPEG"), (".png", b"\x89PNG\r\n\x1a\n", "PNG"), (".bmp", b"BM", "BMP"))


def check_image_file(path: str) -> None:
    """FileError naming `path` when it is empty, not a JPEG/PNG/BMP by its content, or cut short: a JPEG must end
    with its end-of-image marker FF D9 (trailing zero bytes allowed), a PNG with its IEND chunk, a BMP must be as
    long as its header says. (OpenCV decodes a truncated JPEG without an error, the missing part grey.)"""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        head = f.read(16)
        f.seek(max(0, size - 4096))
        tail = f.read().rstrip(b"\0")
    kind = next((name for _, sig, name in _SIGNATURES if head.startswith(sig)), None)
    if kind is None:
        raise FileError(f"calibration image '{path}' is not a JPEG, PNG or BMP image ({size} bytes, starting with "
                        f"{head[:8].hex(' ')}); remove it from the folder")
    ends = {"JPEG": (not tail.endswith(b"\xff\xd9"), "its end-of-image marker FF D9"),
            "PNG": (not tail.endswith(b"IEND\xaeB`\x82"), "its IEND chunk"),
            "BMP": (int.from_bytes(head[2:6], "little") > size, f"the {int.from_bytes(head[2:6], 'little')} bytes "
                                                                 f"its header announces")}
    cut, lacks = ends[kind]
    if cut:
        raise FileError(f"calibration image '{path}' is truncated: this {kind} of {size} bytes lacks {lacks}; "
                        f"re-export it or remove it from the folder")


def image_folders(folder: str) -> List[Tuple[str, int]]:
    """Subfolders of `folder` (two levels deep) that hold images, with their counts: where a YOLO data set root
    (images/train, images/val, or train/images ...) keeps them."""
    found = []
    for top in sorted(os.listdir(folder)):
        first = os.path.join(folder, top)
        if not os.path.isdir(first):
            continue
        for sub in [first] + sorted(os.path.join(first, d) for d in os.listdir(first)):
            if os.path.isdir(sub) and image_files(sub):
                found.append((sub, len(image_files(sub))))
    return found


def check_image_folder(folder: str, what: str = "calibration images") -> List[str]:
    """The image files of `folder`; FileError when `folder` is one image file (give its folder), missing, or holds
    no images (naming the subfolders that do, such as a YOLO data set root's images/train)."""
    if os.path.isfile(folder) and folder.lower().endswith(IMAGE_SUFFIXES):
        raise FileError(f"{what}: '{folder}' is one image file; give the folder that holds the calibration images")
    if not os.path.isdir(folder):
        raise FileError(f"{what}: '{folder}' is not a folder")
    files = image_files(folder)
    if not files:
        subs = image_folders(folder)
        if subs:
            root = "a YOLO data set root" if os.path.isdir(os.path.join(folder, "images")) else "a folder of folders"
            listed = ", ".join(f"'{p}' ({n} images)" for p, n in subs[:4])
            raise FileError(f"{what}: '{folder}' holds no images itself: it is {root}; give one of its image "
                            f"folders: {listed}")
    return files


@dataclass
class ImageData:
    """Batches {input_name: float32 [batch, 3, h, w]} of the images of a folder (sorted by name), preprocessed by
    `preprocess`. An incomplete last batch is left out (logged). `description` goes into calibration caches."""

    files: List[str]
    preprocess: Preprocess
    imgsz: Tuple[int, int]
    batch: int
    input_name: str
    description: Dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.files) // self.batch

    def __iter__(self) -> Iterator[Feed]:
        cv2 = opencv()
        for start in range(0, len(self) * self.batch, self.batch):
            arrays = []
            for f in self.files[start:start + self.batch]:
                image = cv2.imread(f, cv2.IMREAD_COLOR)
                if image is None:
                    raise FileError(f"cannot read image '{f}'")
                arrays.append(self.preprocess(image, self.imgsz))
            yield {self.input_name: np.stack(arrays)}


def image_data(folder: str, spec_or_preprocess: Union[str, Preprocess], imgsz: Union[int, Sequence[int]],
               batch: int = 1, *, input_name: Optional[str] = None, limit: int = 0) -> ImageData:
    """The images of `folder` as calibration batches, preprocessed as the model family does (a family or model name
    such as 'yolov8' / 'yolov8n' / 'unet' / 'centernet_res18', or your own function (BGR uint8 HxWx3, (h, w)) ->
    float32 CHW). imgsz: the network input's (h, w) or one int; input_name: the network input (default: the
    family's); limit: use only the first `limit` images."""
    files = check_image_folder(folder)
    files = files[:limit] if limit else files
    hw = (int(imgsz), int(imgsz)) if isinstance(imgsz, (int, np.integer)) else tuple(int(v) for v in imgsz)
    if len(hw) != 2 or min(hw) <= 0 or batch <= 0:
        raise ConfigError(f"image_data: imgsz must be an int or (h, w) and batch >= 1, got imgsz={imgsz}, "
                          f"batch={batch}")
    if callable(spec_or_preprocess):
        preprocess, name = spec_or_preprocess, input_name or "input"
    else:
        preprocess, default_name = spec_preprocessing(spec_or_preprocess)
        name = input_name or default_name
    kind = preprocess_name(preprocess)
    if len(files) < batch:
        raise FileError(f"calibration images: '{folder}' has {len(files)} image(s) ({', '.join(IMAGE_SUFFIXES)}), "
                        f"fewer than one batch of {batch}")
    if len(files) % batch:
        log.warning("calibration images: the last %d of %d images do not fill a batch of %d and are left out",
                    len(files) % batch, len(files), batch)
    used = files[:len(files) // batch * batch]
    for f in used:
        check_image_file(f)
    description = {"source": "images", "folder": os.path.abspath(folder), "images": len(used),
                   "files_hash": _files_hash(used), "preprocess": kind, "imgsz": list(hw), "batch": batch, "input": name}
    return ImageData(files, preprocess, hw, batch, name, description)


def _split(name: str, array: np.ndarray, shape: Sequence[int], source: str) -> List[np.ndarray]:
    """One batch if `array` has the input's shape (-1 dims: any size; a dynamic batch: the whole array, the network's
    profile checks it); else samples [N, *shape[1:]] cut into batches (rest dropped)."""
    shape = tuple(int(d) for d in shape)
    fits = array.ndim == len(shape) and all(d in (-1, v) for d, v in zip(shape[1:], array.shape[1:]))
    if array.shape == shape or (fits and shape[0] == -1):
        return [array]
    if fits:
        shape = (shape[0], *array.shape[1:])  # dynamic sizes: the array's own
    if array.ndim != len(shape) or array.shape[1:] != shape[1:] or array.shape[0] < shape[0]:
        raise ConfigError(f"calibration data {source}: array for input '{name}' has shape {array.shape}; expected "
                          f"{shape} or [N >= {shape[0]}, {', '.join(map(str, shape[1:]))}]")
    full = array.shape[0] // shape[0] * shape[0]
    if full != array.shape[0]:
        log.warning("calibration data %s: the last %d samples do not fill a batch of %d and are left out",
                    source, array.shape[0] - full, shape[0])
    return [array[k:k + shape[0]] for k in range(0, full, shape[0])]


def _file_feeds(path: str, inputs: Mapping[str, Sequence[int]]) -> List[Feed]:
    """Feeds from one .npy (the only input) or .npz (arrays named by input; one array for a single input)."""
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise FileError(f"calibration data '{path}' cannot be read as .npy/.npz: {e}") from e
    if isinstance(loaded, np.ndarray):
        if len(inputs) != 1:
            raise ConfigError(f"calibration data '{path}': a .npy holds one array but the network has inputs "
                              f"{list(inputs)}; use a .npz with one array per input")
        arrays = {next(iter(inputs)): loaded}
    else:
        with loaded:
            arrays = {k: loaded[k] for k in loaded.files}
        if len(inputs) == 1 and len(arrays) == 1:
            arrays = {next(iter(inputs)): next(iter(arrays.values()))}
        missing = [n for n in inputs if n not in arrays]
        if missing:
            raise ConfigError(f"calibration data '{path}': no array for input(s) {missing} (it has {list(arrays)})")
    parts = {n: _split(n, arrays[n], shape, f"'{path}'") for n, shape in inputs.items()}
    count = min(len(p) for p in parts.values())
    return [{n: parts[n][k] for n in inputs} for k in range(count)]


def _numpy_files(path: str) -> List[str]:
    if os.path.isdir(path):
        names = sorted(f for f in os.listdir(path) if f.endswith((".npy", ".npz")))
        if not names:
            if check_image_folder(path, f"calibration data '{path}'"):
                raise ConfigError(f"calibration data '{path}' is a folder of images: give trtnn.quant.image_data("
                                  f"'{path}', family, imgsz, batch) to say how to preprocess them")
            raise FileError(f"calibration data '{path}': no .npy/.npz files in the folder")
        return [os.path.join(path, f) for f in names]
    if not os.path.exists(path):
        raise FileError(f"calibration data '{path}' does not exist")
    if path.lower().endswith(IMAGE_SUFFIXES):
        check_image_folder(path, "calibration data")
    if not path.endswith((".npy", ".npz")):
        raise ConfigError(f"calibration data '{path}': expected a .npy/.npz file, a folder of them, "
                          f"trtnn.quant.image_data(...) or an iterable of input dicts")
    return [path]


def _hash_feed(h: Any, feed: Any) -> None:
    """Add one batch ({name: array} or one array) to the sha256 `h`: names, dtypes, shapes and raw bytes."""
    for name, value in sorted(feed.items()) if isinstance(feed, Mapping) else [("", feed)]:
        if isinstance(value, torch.Tensor):
            t = value.detach().cpu().contiguous()
            head, data = f"{name} {t.dtype} {tuple(t.shape)}", t.reshape(-1).view(torch.uint8).numpy()
        else:
            a = np.ascontiguousarray(np.asarray(value))
            head, data = f"{name} {a.dtype} {a.shape}", a.reshape(-1).view(np.uint8)
        h.update(head.encode() + b"\n")
        h.update(memoryview(data))


class MemoryData:
    """In-memory calibration batches (an iterable of input dicts, or arrays for a single input), hashed as they are
    read, so that a cache records which data it came from (`describe(data, batches)`: the sha256 of its first
    `batches` batches). Batches read only to check a cache are kept for the next pass when `data` is a one-shot
    iterator (a generator)."""

    def __init__(self, data: Iterable[Any]) -> None:
        self.data = data
        self.digests: List[str] = []  # sha256 after each batch read so far
        self._kept: List[Any] = []  # batches of a one-shot iterator read by `digest`, not yet handed out

    def __iter__(self) -> Iterator[Any]:
        h, self.digests = hashlib.sha256(), []
        kept, self._kept = self._kept, []
        for feed in itertools.chain(kept, self.data):
            _hash_feed(h, feed)
            self.digests.append(h.hexdigest())
            yield feed

    def digest(self, batches: int) -> str:
        """sha256 of the first `batches` batches (reading them now unless a pass already did)."""
        if len(self.digests) < batches:
            one_shot = iter(self.data) is self.data
            head = list(itertools.islice(iter(self), batches))
            if one_shot:
                self._kept = head
        return self.digests[min(batches, len(self.digests)) - 1] if self.digests and batches else ""


class SizedMemoryData(MemoryData):
    """MemoryData of a sized iterable (a list): its length is the number of batches."""

    def __len__(self) -> int:
        return len(self.data)  # type: ignore[arg-type]


@dataclass
class NumpyData:
    """Batches read from .npy/.npz files (one file at a time)."""

    files: List[str]
    inputs: Dict[str, Tuple[int, ...]]
    description: Dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Feed]:
        for f in self.files:
            yield from _file_feeds(f, self.inputs)


def named_feed(feed: Any, names: Sequence[str], where: str) -> Feed:
    """A batch as {input name: array}: a bare array is the one input's; ConfigError naming `where` when the network
    has several inputs."""
    if isinstance(feed, dict):
        return feed
    if len(names) != 1:
        raise ConfigError(f"{where}: expected a dict {{input name: array}} for the inputs {list(names)}, got "
                          f"{type(feed).__name__}")
    return {names[0]: feed}


def as_batches(data: Any, inputs: Mapping[str, Sequence[int]]) -> Iterable[Feed]:
    """Calibration batches from what `calibrate` accepts: a path (.npy, .npz or a folder of them), ImageData, or an
    iterable of input dicts (a bare array per batch for a single-input network)."""
    if isinstance(data, (str, os.PathLike)):
        path = os.fspath(data)
        files = _numpy_files(path)
        return NumpyData(files, {n: tuple(s) for n, s in inputs.items()},
                         {"source": "numpy", "path": os.path.abspath(path), "files": len(files),
                          "files_hash": _files_hash(files)})
    if isinstance(data, Mapping) or not isinstance(data, Iterable):
        raise ConfigError(f"calibration data must be a path, trtnn.quant.image_data(...) or an iterable of input "
                          f"dicts {{name: array}}, got {type(data).__name__}")
    if isinstance(data, MemoryData) or getattr(data, "description", None):
        return data
    return SizedMemoryData(data) if hasattr(data, "__len__") else MemoryData(data)


def describe(data: Any, batches: Optional[int] = None) -> Any:
    """What a cache records about the data: its `description` (paths and their files' sizes and times, image
    folders and their preprocessing); for in-memory data (MemoryData), its kind and, given `batches`, the sha256 of
    its first `batches` batches (read now if no pass read them yet)."""
    if isinstance(data, MemoryData):  # a list or a generator of the same batches describe the same data
        kind = {"source": "memory"}
        return kind if batches is None else {**kind, "batches": batches, "sha256": data.digest(batches)}
    return getattr(data, "description", None) or {"source": type(data).__name__}
