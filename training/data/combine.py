"""Combining data sets per label, rebalancing to target counts, and stratified splits.

``python -m training.data.combine ../shared/data/fer2013/fer2013.csv.gz data/affectnet --targets seed
--size 224 --rgb --output data/fer2013+affectnet`` builds the seed's combined set as a folder data set
(``train/``, ``val/``, ``test/`` class folders, lossless WebP): every face of every source at one size
and colour, exact duplicates kept once, split 8:1:1 per class, and only then the training part
rebalanced to its share of the targets (repeats stay inside the training split, so no face is in two
splits; rebalancing before splitting, as a naive reading of the seed does, puts copies of one face
in training and test). The leakage check runs on the result and must find no face in two splits.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from fer_space.labels import EMOTIONS

from .arrays import FaceArrays
from .folders import concat
from .leakage import duplicate_groups, leakage_report

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


def at_size(faces: FaceArrays, size: int, grey: bool) -> FaceArrays:
    """The same faces as ``size`` x ``size``, grey or RGB (FER2013's 48 px grey faces join RGB sets)."""
    def convert(img: np.ndarray) -> np.ndarray:
        if img.shape[:2] != (size, size):
            shrink = img.shape[0] > size
            img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
        if grey and img.ndim == 3:
            return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        if not grey and img.ndim == 2:
            return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
        return img

    return FaceArrays(np.stack([convert(img) for img in faces.images]), faces.labels, faces.splits, faces.index)


def build_combined(parts: list[FaceArrays], targets: dict[str, int] | None, ratios: tuple[float, float, float],
                   seed: int = 0) -> FaceArrays:
    """Merge, keep exact duplicates once, split per class, then rebalance the training part only."""
    merged = concat(parts)
    repeats = np.zeros(len(merged), dtype=bool)
    for group in duplicate_groups(merged):
        repeats[group[1:]] = True
    split = stratified_split(merged.select(~repeats), ratios, seed)
    train = split.split("train")
    if targets:
        train = rebalance(train, {k: round(v * ratios[0]) for k, v in targets.items()}, seed)
    return concat([train, *(split.split(name) for name in ("val", "test") if (split.splits == name).any())])


def main(argv: list[str] | None = None) -> int:
    from . import load_faces
    from .pack import pack

    p = argparse.ArgumentParser(prog="python -m training.data.combine", description=__doc__.split("\n\n")[0])
    p.add_argument("sources", nargs="+", help="data sets: fer2013.csv(.gz) files and class-folder sets")
    p.add_argument("--output", type=Path, required=True, help="folder to write (replaced whole)")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--rgb", action="store_true", help="store RGB faces (grey sources are converted)")
    p.add_argument("--targets", choices=["seed", "none"], default="seed",
                   help="seed: rebalance to SEED_COMBINED_TARGETS (38,550 faces in all)")
    p.add_argument("--scale", type=float, default=1.0, help="multiply the targets (e.g. 0.01 for a quick check)")
    p.add_argument("--split", nargs=3, type=float, default=[0.8, 0.1, 0.1], metavar=("TRAIN", "VAL", "TEST"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    grey = not args.rgb
    try:
        parts = [at_size(load_faces(src, size=args.size, grey=grey), args.size, grey) for src in args.sources]
        targets = None
        if args.targets == "seed":
            targets = {k: round(v * args.scale) for k, v in SEED_COMBINED_TARGETS.items()}
        faces = build_combined(parts, targets, tuple(args.split), args.seed)
        report = leakage_report(faces)
        if report["groups_crossing_splits"]:
            raise ValueError(f"faces in two splits after combining: {report}")
        counts = pack(faces, args.output, sorted(set(faces.splits.tolist())))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"written": str(args.output), "faces_per_split": counts, "leakage": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
