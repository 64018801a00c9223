"""Class-folder data sets: Kaggle's FER2013 folders, AffectNet/RAF-DB style exports, any ImageFolder.

    root/train/<class>/*.jpg   root/test/<class>/*.jpg      -> splits "train", "test" (and "val")
    root/<class>/*.jpg                                       -> one split, "all"

Class folders are mapped to canonical emotions by name (``angry``/``anger``, ``happy``/``happiness``,
...), by AffectNet's numeric folders (0 neutral ... 7 contempt), or by an explicit ``label_map``
(``None`` drops the class, e.g. ``{"contempt": None}``; by default contempt is dropped).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from fer_space.labels import EMOTIONS, canonical

from .arrays import FaceArrays

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
SPLIT_NAMES = {"train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val",
               "test": "test", "testing": "test"}
# AffectNet's numbering: 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger, 7 contempt.
AFFECTNET_NUMBERS = {"0": "neutral", "1": "happy", "2": "sad", "3": "surprise", "4": "fear", "5": "disgust",
                     "6": "angry", "7": "contempt"}


def folder_label(name: str, label_map: dict[str, str | None] | None) -> str | None:
    """Canonical emotion of a class folder, ``None`` to drop it; unknown names are an error."""
    key = name.strip().lower()
    mapping = {"contempt": None, **{k.lower(): v for k, v in (label_map or {}).items()}}
    if key in mapping:
        return None if mapping[key] is None else canonical(mapping[key])
    key = AFFECTNET_NUMBERS.get(key, key)
    if key in mapping:
        return None if mapping[key] is None else canonical(mapping[key])
    try:
        return canonical(key)
    except KeyError as exc:
        raise ValueError(f"class folder {name!r} is not an emotion; add it to label_map") from exc


def _load(path: Path, size: int, grey: bool) -> np.ndarray | None:
    try:
        with Image.open(path) as img:
            img = img.convert("L" if grey else "RGB")
            if img.size != (size, size):
                img = img.resize((size, size), Image.BILINEAR)
            return np.asarray(img)
    except (OSError, ValueError):
        return None  # broken images are dropped (the seed's recipe); counted by the caller


def read_class_folders(root: str | Path, split: str, *, size: int = 48, grey: bool = True,
                       label_map: dict[str, str | None] | None = None) -> tuple[FaceArrays, int]:
    """Faces of ``root/<class>/*`` resized to ``size``; returns the faces and the broken-file count."""
    images, labels, broken = [], [], 0
    for class_dir in sorted(p for p in Path(root).iterdir() if p.is_dir()):
        emotion = folder_label(class_dir.name, label_map)
        if emotion is None:
            continue
        for file in sorted(class_dir.rglob("*")):
            if file.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            arr = _load(file, size, grey)
            if arr is None:
                broken += 1
                continue
            images.append(arr)
            labels.append(EMOTIONS.index(emotion))
    if not images:
        raise ValueError(f"no images in class folders under {root}")
    n = len(images)
    return FaceArrays(np.stack(images), np.asarray(labels, dtype=np.int64), np.full(n, split),
                      np.arange(n, dtype=np.int64)), broken


def read_split_folders(root: str | Path, *, size: int = 48, grey: bool = True,
                       label_map: dict[str, str | None] | None = None) -> FaceArrays:
    """A folder data set with ``train/``/``val/``/``test/`` subfolders, or class folders only."""
    root = Path(root)
    split_dirs = {SPLIT_NAMES[p.name.lower()]: p for p in root.iterdir()
                  if p.is_dir() and p.name.lower() in SPLIT_NAMES}
    parts = split_dirs.items() if split_dirs else [("all", root)]
    faces = [read_class_folders(d, split, size=size, grey=grey, label_map=label_map)[0] for split, d in parts]
    return concat(faces)


def concat(parts: list[FaceArrays]) -> FaceArrays:
    """One data set from several with the same image shape (``index`` becomes the position)."""
    shapes = {p.images.shape[1:] for p in parts}
    if len(shapes) != 1:
        raise ValueError(f"cannot combine faces of different shapes {sorted(shapes)}; read them at one size/colour")
    images = np.concatenate([p.images for p in parts])
    return FaceArrays(images, np.concatenate([p.labels for p in parts]), np.concatenate([p.splits for p in parts]),
                      np.arange(len(images), dtype=np.int64))
