"""Data set readers, combination, splitting and leakage checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .arrays import FaceArrays, FaceDataset
from .fer2013 import ferplus_soft_labels, read_fer2013_csv

__all__ = ["FaceArrays", "FaceDataset", "load_faces", "ferplus_soft_labels", "read_fer2013_csv"]


def detect_format(path: str | Path) -> str:
    """``fer2013_csv`` for a ``.csv``/``.csv.gz`` file, ``folders`` for a directory."""
    path = Path(path)
    if path.is_dir():
        return "folders"
    if path.name.endswith((".csv", ".csv.gz")):
        return "fer2013_csv"
    raise ValueError(f"cannot tell the format of {path}: expected a fer2013.csv(.gz) file or a folder")


def load_faces(path: str | Path, data_format: str = "auto", size: int = 48, grey: bool = True,
               label_map: dict[str, str | None] | None = None) -> FaceArrays:
    """All faces of a data set with their splits. Folder data sets are read at ``size`` px, grey or
    RGB, with class folders mapped by ``label_map`` (see ``folders``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"data set not found: {path}")
    fmt = detect_format(path) if data_format == "auto" else data_format
    if fmt == "fer2013_csv":
        return read_fer2013_csv(path)
    if fmt == "folders":
        from .folders import read_split_folders

        return read_split_folders(path, size=size, grey=grey, label_map=label_map)
    raise ValueError(f"unknown data format {fmt!r}")


def limit_faces(faces: FaceArrays, n: int, seed: int) -> FaceArrays:
    """A random subset of ``n`` faces (all of them when ``n`` is larger)."""
    if n >= len(faces):
        return faces
    idx = np.sort(np.random.default_rng(seed).permutation(len(faces))[:n])
    return faces.select(idx)
