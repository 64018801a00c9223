"""Combining data sets per label, rebalancing to target counts, and stratified splits."""

from __future__ import annotations

import numpy as np

from fer_space.labels import EMOTIONS

from .arrays import FaceArrays
from .folders import concat

# The seed's combined FER2013 + AffectNet recipe (38,550 faces).
SEED_COMBINED_TARGETS = {"angry": 5992, "disgust": 3900, "fear": 5589, "happy": 5568, "neutral": 5894,
                         "sad": 5661, "surprise": 5946}


def rebalance(faces: FaceArrays, targets: dict[str, int], seed: int = 0) -> FaceArrays:
    """Per class: a random subset when above target, random repeats added when below."""
    rng = np.random.default_rng(seed)
    keep = []
    for emotion, target in targets.items():
        idx = np.flatnonzero(faces.labels == EMOTIONS.index(emotion))
        if len(idx) == 0:
            raise ValueError(f"no {emotion} faces to rebalance to {target}")
        if len(idx) >= target:
            keep.append(rng.choice(idx, target, replace=False))
        else:
            keep.append(np.concatenate([idx, rng.choice(idx, target - len(idx), replace=True)]))
    return faces.select(np.sort(np.concatenate(keep)))


def combine(datasets: list[FaceArrays], targets: dict[str, int] | None = None, seed: int = 0) -> FaceArrays:
    """Merge data sets (same image shape) per label, optionally rebalanced to ``targets``."""
    merged = concat(datasets)
    return rebalance(merged, targets, seed) if targets else merged


def stratified_split(faces: FaceArrays, ratios: tuple[float, float, float] = (0.8, 0.1, 0.1), seed: int = 0,
                     names: tuple[str, str, str] = ("train", "val", "test")) -> FaceArrays:
    """Assign every face to train/val/test keeping class proportions (the seed's 8:1:1)."""
    if abs(sum(ratios) - 1) > 1e-6:
        raise ValueError(f"split ratios must sum to 1, got {ratios}")
    rng = np.random.default_rng(seed)
    splits = np.empty(len(faces), dtype=object)
    for label in np.unique(faces.labels):
        idx = rng.permutation(np.flatnonzero(faces.labels == label))
        n_val = round(len(idx) * ratios[1])
        n_test = round(len(idx) * ratios[2])
        splits[idx[: len(idx) - n_val - n_test]] = names[0]
        splits[idx[len(idx) - n_val - n_test : len(idx) - n_test]] = names[1]
        splits[idx[len(idx) - n_test :]] = names[2]
    return FaceArrays(faces.images, faces.labels, splits.astype(str), faces.index)
