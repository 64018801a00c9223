"""Detector settings for streams against full detection: ``python -m bench.detector [--json]``.

For each setting: time per image (median of 3) and its sum over the images and, against MTCNN's own
defaults as reference (the image tab's setting before 2026-12-04), the reference faces missed and the
mean IoU of the matched boxes, on the example photos and on a 640x480 webcam-like sequence.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from fer_space.faces import PHOTO_DETECTOR, FaceDetector
from fer_space.images import load_image
from fer_space.stream import STREAM_DETECTOR
from fer_space.tracking import iou

from .pipeline import EXAMPLES, frame_sequence, pct, timed

SETTINGS = {
    "mtcnn_defaults": {},
    "photo (image tab: 5% min face, factor 0.65)": PHOTO_DETECTOR,
    "min_face_40_factor_0.6": {"min_face_size": 40, "factor": 0.6},
    "half_size_640->320": {"max_side": 320},
    "stream (all of the above + 12% min face)": STREAM_DETECTOR,
}


def compare(images: list[np.ndarray]) -> dict:
    reference = FaceDetector()
    ref_faces = [reference.detect(img) for img in images]
    out = {}
    for name, kwargs in SETTINGS.items():
        detector = FaceDetector(**kwargs)
        ms, ious, missed, total = [], [], 0, 0
        for img, ref in zip(images, ref_faces, strict=True):
            ms.append(pct(timed(lambda i=img, d=detector: d.detect(i), 3), 50))
            found = detector.detect(img)
            for face in ref:
                total += 1
                best = max((iou(face.box, f.box) for f in found), default=0.0)
                if best < 0.5:
                    missed += 1
                else:
                    ious.append(best)
        out[name] = {"ms_all_images": round(float(np.sum(ms)), 1), "ms_p50": pct(ms, 50), "missed": f"{missed}/{total}",
                     "mean_iou_matched": round(float(np.mean(ious)), 3) if ious else None}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.detector", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    photos = [load_image(path) for path in sorted(EXAMPLES.glob("*.*")) if path.suffix in (".jpg", ".jpeg", ".png")]
    report = {"example_photos": compare(photos), "webcam_sequence_640x480": compare(
        frame_sequence("skimage_astronaut.png", 10) + frame_sequence("singnet_laos.jpg", 10))}
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
