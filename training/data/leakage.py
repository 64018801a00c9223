"""Exact-duplicate faces: across splits (leakage) and with conflicting labels.

``python -m training.data.leakage ../shared/data/fer2013/fer2013.csv.gz``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import defaultdict

import numpy as np

from .arrays import FaceArrays


def duplicate_groups(faces: FaceArrays) -> list[np.ndarray]:
    """Groups (index arrays, size >= 2) of faces with identical pixels."""
    groups: dict[bytes, list[int]] = defaultdict(list)
    for i, img in enumerate(faces.images):
        groups[hashlib.blake2b(np.ascontiguousarray(img).tobytes(), digest_size=16).digest()].append(i)
    return [np.asarray(g) for g in groups.values() if len(g) > 1]


def leakage_report(faces: FaceArrays) -> dict:
    """Counts of duplicate groups, images in them, groups crossing splits (and images of each split
    that also appear in another split) and groups with conflicting labels."""
    groups = duplicate_groups(faces)
    crossing = [g for g in groups if len(set(faces.splits[g].tolist())) > 1]
    per_split: dict[str, int] = defaultdict(int)
    for g in crossing:
        for split in faces.splits[g]:
            per_split[str(split)] += 1
    return {
        "faces": len(faces),
        "duplicate_groups": len(groups),
        "duplicate_images": int(sum(len(g) for g in groups)),
        "groups_crossing_splits": len(crossing),
        "images_in_crossing_groups_by_split": dict(sorted(per_split.items())),
        "groups_with_conflicting_labels": sum(len(set(faces.labels[g].tolist())) > 1 for g in groups),
    }


def drop_leaks(faces: FaceArrays, train_split: str) -> tuple[FaceArrays, int]:
    """Remove ``train_split`` faces identical to a face of another split; returns (faces, dropped)."""
    drop = np.zeros(len(faces), dtype=bool)
    for g in duplicate_groups(faces):
        splits = faces.splits[g]
        if (splits != train_split).any():
            drop[g[splits == train_split]] = True
    return faces.select(~drop), int(drop.sum())


def main(argv: list[str] | None = None) -> int:
    from . import load_faces

    p = argparse.ArgumentParser(prog="python -m training.data.leakage", description=__doc__.split("\n\n")[0])
    p.add_argument("data", help="fer2013.csv(.gz) or a folder data set")
    args = p.parse_args(argv)
    print(json.dumps(leakage_report(load_faces(args.data)), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
