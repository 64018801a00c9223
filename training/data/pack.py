"""Pack a data set small for a trip, e.g. to a lent GPU:
``python -m training.data.pack ../shared/data/fer2013/fer2013.csv.gz --output .carry/fer2013``.

Writes the faces of the chosen splits as a class-folder data set of lossless WebP files
(``DIR/train/<emotion>/<row>.webp``, ``DIR/val/...``) that ``load_faces(DIR)`` reads back pixel for
pixel. FER2013's Training and PublicTest rows take about 51 MB this way, against 81 MB for the gzip
CSV. The folder is written aside and swapped in whole, so it is never half-written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

from fer_space.labels import EMOTIONS

from ..checkpoint import staged_dir
from . import load_faces
from .arrays import FaceArrays

# FER2013's Usage -> the folder reader's split names; PublicTest selects models, so it is "val".
SPLIT_FOLDERS = {"Training": "train", "PublicTest": "val", "PrivateTest": "test"}


def pack(faces: FaceArrays, output: Path, splits: list[str]) -> dict[str, int]:
    """Write ``splits`` of ``faces`` under ``output``; returns the face count per split folder."""
    counts = {}
    with staged_dir(output) as tmp:
        for split in splits:
            part, folder = faces.split(split), SPLIT_FOLDERS.get(split, split)
            for image, label, row in zip(part.images, part.labels, part.index, strict=True):
                path = tmp / folder / EMOTIONS[label] / f"{row:06d}.webp"
                path.parent.mkdir(parents=True, exist_ok=True)
                Image.fromarray(image).save(path, lossless=True, quality=100)
            counts[folder] = len(part)
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.data.pack", description=__doc__.split("\n\n")[0])
    p.add_argument("data", help="fer2013.csv(.gz) or a folder data set")
    p.add_argument("--output", type=Path, required=True, help="folder to write (replaced whole)")
    p.add_argument("--splits", nargs="+", default=["Training", "PublicTest"], help="splits to pack")
    args = p.parse_args(argv)
    try:
        faces = load_faces(args.data)
        missing = sorted(set(args.splits) - set(faces.splits))
        if missing:
            raise ValueError(f"{args.data} has no {missing} faces")
        counts = pack(faces, args.output, args.splits)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = sum(f.stat().st_size for f in args.output.rglob("*.webp"))
    print(f"packed {counts} into {args.output} ({size / 2**20:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
