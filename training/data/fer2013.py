"""FER2013 in Kaggle's ``fer2013.csv`` form (plain or gzip) and its FER+ re-annotation votes."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np

from fer_space.labels import EMOTIONS

from .arrays import FaceArrays

# FER2013's ``emotion`` column numbers the emotions in this order.
FER2013_ORDER: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# FER+ vote columns (fer2013new.csv) -> canonical names; contempt, unknown and NF have none.
FERPLUS_COLUMNS: dict[str, str] = {
    "neutral": "neutral",
    "happiness": "happy",
    "surprise": "surprise",
    "sadness": "sad",
    "anger": "angry",
    "disgust": "disgust",
    "fear": "fear",
}


def fer2013_to_canonical(index: int) -> int:
    """Map a FER2013 ``emotion`` index (0..6) to the canonical index."""
    return EMOTIONS.index(FER2013_ORDER[index])


def _open_text(path: Path):
    return gzip.open(path, "rt", newline="") if path.suffix == ".gz" else open(path, newline="")


def read_fer2013_csv(path: str | Path, usage: str | None = None) -> FaceArrays:
    """Read ``emotion,pixels,Usage`` rows into 48x48 uint8 faces with canonical labels.

    ``usage`` keeps only rows of that split (``Training``, ``PublicTest``, ``PrivateTest``).
    Each face keeps its row number in the file (``index``), which aligns it with FER+.
    """
    path = Path(path)
    images, labels, splits, rows = [], [], [], []
    with _open_text(path) as f:
        reader = csv.DictReader(f)
        missing = {"emotion", "pixels"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path} is not a fer2013.csv: missing columns {sorted(missing)}")
        for row_number, row in enumerate(reader):
            split = row.get("Usage", "")
            if usage is not None and split != usage:
                continue
            pixels = np.asarray(row["pixels"].split(), dtype=np.uint8)
            if pixels.size != 48 * 48:
                raise ValueError(f"{path} row {row_number + 2}: {pixels.size} pixels, expected 2304")
            images.append(pixels.reshape(48, 48))
            labels.append(fer2013_to_canonical(int(row["emotion"])))
            splits.append(split)
            rows.append(row_number)
    if not images:
        raise ValueError(f"{path}: no rows" + (f" with Usage={usage!r}" if usage else ""))
    return FaceArrays(
        images=np.stack(images),
        labels=np.asarray(labels, dtype=np.int64),
        splits=np.asarray(splits),
        index=np.asarray(rows, dtype=np.int64),
    )


def read_ferplus_votes(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``fer2013new.csv``: (votes ``(N, 7)`` in canonical order, ``usable`` mask).

    Rows are aligned with ``fer2013.csv`` by position. A row is unusable when it has no vote for
    any of the 7 emotions or when most annotators said "not a face" (NF) or "unknown".
    """
    order = [next(c for c, e in FERPLUS_COLUMNS.items() if e == emotion) for emotion in EMOTIONS]
    votes, usable = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            v = [float(row[c] or 0) for c in order]
            other = float(row.get("unknown") or 0) + float(row.get("NF") or 0) + float(row.get("contempt") or 0)
            votes.append(v)
            usable.append(sum(v) > 0 and sum(v) > other)
    return np.asarray(votes, dtype=np.float32), np.asarray(usable, dtype=bool)


def ferplus_soft_labels(faces: FaceArrays, votes_path: str | Path) -> np.ndarray:
    """Soft labels ``(N, 7)`` from FER+ votes for ``faces`` (rows without usable votes keep the
    FER2013 label as a one-hot)."""
    votes, usable = read_ferplus_votes(votes_path)
    if faces.index.max() >= len(votes):
        raise ValueError(f"{votes_path} has {len(votes)} rows, fewer than the FER2013 file")
    soft = np.eye(len(EMOTIONS), dtype=np.float32)[faces.labels]
    v, ok = votes[faces.index], usable[faces.index]
    soft[ok] = v[ok] / v[ok].sum(axis=1, keepdims=True)
    return soft
