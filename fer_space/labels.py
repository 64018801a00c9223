"""Emotion label sets and the mappings between them.

The project's canonical order is alphabetical. Data sets number the same emotions differently
(their readers under ``training/data`` map them); every checkpoint stores its own ``id2label`` in
``config.json``, so output indices are always read with the names they were trained with.
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

# Folder names met in the wild (Kaggle FER2013 folders, AffectNet/RAF-DB exports) -> canonical.
ALIASES: dict[str, str] = {
    "anger": "angry",
    "angry": "angry",
    "disgust": "disgust",
    "disgusted": "disgust",
    "fear": "fear",
    "fearful": "fear",
    "happy": "happy",
    "happiness": "happy",
    "neutral": "neutral",
    "sad": "sad",
    "sadness": "sad",
    "surprise": "surprise",
    "surprised": "surprise",
}


def canonical(name: str) -> str:
    """Return the canonical emotion for a label spelling, or raise ``KeyError``."""
    key = name.strip().lower()
    if key not in ALIASES:
        raise KeyError(f"unknown emotion label {name!r}; known: {sorted(set(ALIASES))}")
    return ALIASES[key]


def canonical_order(labels: tuple[str, ...] | list[str]) -> list[int]:
    """Column indices that put a model's outputs (in ``labels`` order) into ``EMOTIONS`` order."""
    missing = [name for name in EMOTIONS if name not in labels]
    if missing:
        raise ValueError(f"the model does not predict {missing}")
    return [labels.index(name) for name in EMOTIONS]


def id2label_dict(labels: tuple[str, ...] | list[str] = EMOTIONS) -> dict[str, str]:
    """``{"0": "angry", ...}`` as stored in ``config.json``."""
    return {str(i): name for i, name in enumerate(labels)}


def labels_from_id2label(id2label: dict) -> tuple[str, ...]:
    """Read an ``id2label`` mapping (keys int or str) back into an ordered, validated tuple."""
    try:
        items = sorted((int(k), str(v)) for k, v in id2label.items())
    except (TypeError, ValueError) as exc:
        raise ValueError(f"id2label keys must be integers, got {list(id2label)}") from exc
    if [k for k, _ in items] != list(range(len(items))):
        raise ValueError(f"id2label keys must be 0..{len(items) - 1}, got {[k for k, _ in items]}")
    names = tuple(canonical(v) for _, v in items)
    if len(set(names)) != len(names):
        raise ValueError(f"id2label names repeat: {names}")
    return names
