"""Measure where face quality starts to cost accuracy: ``python -m training.quality_thresholds --data CSV``.

For every face of the validation split it takes the measures of ``fer_space.quality`` and whether
the model read the face right, then prints, for each measure, the accuracy of the faces beyond a
range of cut points, and the cut point where that accuracy falls ``--drop`` points below the
accuracy of all faces (with at least ``--min-faces`` faces beyond it). Face size is simulated by
shrinking each 48 px face to N px and back; head turn comes from MTCNN's landmarks on each face,
enlarged and padded so the detector sees it whole (faces it does not find are left out).
"""

from __future__ import annotations

import argparse
import json
import sys

import cv2
import numpy as np

from fer_space.faces import FaceDetector
from fer_space.quality import image_measures, yaw_degrees
from fer_space.sources import resolve_and_load

from .data import load_faces
from .evaluate import canonical_probs

SIZES = (12, 16, 20, 24, 28, 32, 40)


def correct(model, images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Whether ``model`` reads each face right (single pass, as the app runs it)."""
    return canonical_probs(model, images).argmax(1) == labels


def shrunk(images: np.ndarray, side: int) -> np.ndarray:
    """Faces shrunk to ``side`` px and enlarged back to their size (what a face that small gives)."""
    size = images.shape[1]
    return np.stack([cv2.resize(cv2.resize(img, (side, side), interpolation=cv2.INTER_AREA), (size, size),
                                interpolation=cv2.INTER_LINEAR) for img in images])


def landmark_yaw(images: np.ndarray, detector: FaceDetector) -> np.ndarray:
    """Head turn of each face from MTCNN's landmarks (NaN where no face is found)."""
    out = np.full(len(images), np.nan)
    for i, img in enumerate(images):
        big = cv2.resize(img, (144, 144), interpolation=cv2.INTER_CUBIC)
        padded = cv2.copyMakeBorder(big, 48, 48, 48, 48, cv2.BORDER_REPLICATE)
        faces = detector.detect(cv2.cvtColor(padded, cv2.COLOR_GRAY2RGB))
        if faces and faces[0].landmarks is not None:
            out[i] = yaw_degrees(faces[0].landmarks)
    return out


def cut_table(values: np.ndarray, right: np.ndarray, cuts: list[float], below: bool) -> list[dict]:
    """Accuracy of the faces beyond each cut (``below``: value < cut, else value > cut)."""
    rows = []
    for cut in cuts:
        beyond = values < cut if below else values > cut
        rows.append({"cut": round(float(cut), 3), "n": int(beyond.sum()),
                     "accuracy": round(float(right[beyond].mean()), 4) if beyond.any() else None})
    return rows


def threshold(rows: list[dict], overall: float, drop: float, min_faces: int, below: bool) -> float | None:
    """The cut nearest the bulk of the faces where accuracy beyond it is ``drop`` below ``overall``."""
    ok = [r for r in rows if r["n"] >= min_faces and r["accuracy"] is not None and r["accuracy"] <= overall - drop]
    if not ok:
        return None
    return max(r["cut"] for r in ok) if below else min(r["cut"] for r in ok)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.quality_thresholds", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model source (default: the shipped default)")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz)")
    p.add_argument("--split", default="PublicTest")
    p.add_argument("--drop", type=float, default=0.10, help="accuracy drop that marks a threshold")
    p.add_argument("--min-faces", type=int, default=30)
    args = p.parse_args(argv)
    try:
        model, _ = resolve_and_load(args.model)
        faces = load_faces(args.data, size=48, grey=True).split(args.split)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    images = faces.images if faces.images.ndim == 3 else faces.images[..., 0]
    right = correct(model, images, faces.labels)
    overall = float(right.mean())
    measures = {k: np.array([image_measures(img)[k] for img in images]) for k in ("sharpness", "brightness", "clipped")}
    report = {"n": len(images), "accuracy": round(overall, 4), "measures": {}}

    def add(name: str, values: np.ndarray, right_here: np.ndarray, cuts: list[float], below: bool) -> None:
        rows = cut_table(values, right_here, cuts, below)
        report["measures"][name] = {"beyond": "below" if below else "above", "rows": rows,
                                    "threshold": threshold(rows, overall, args.drop, args.min_faces, below)}

    add("sharpness", measures["sharpness"], right, [float(np.percentile(measures["sharpness"], q))
                                                    for q in (1, 2, 5, 10, 20, 30)], True)
    add("brightness_dark", measures["brightness"], right, [20, 30, 40, 50, 60, 70], True)
    add("brightness_bright", measures["brightness"], right, [180, 190, 200, 210, 220, 230], False)
    add("clipped", measures["clipped"], right, [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4], False)
    size_rows = []
    for side in SIZES:
        acc = float(correct(model, shrunk(images, side), faces.labels).mean())
        size_rows.append({"cut": side, "n": len(images), "accuracy": round(acc, 4)})
    report["measures"]["face_px"] = {"beyond": "at", "rows": size_rows, "threshold": max(
        (r["cut"] for r in size_rows if r["accuracy"] <= overall - args.drop), default=None)}
    yaw = landmark_yaw(images, FaceDetector(min_face_size=40))
    found = ~np.isnan(yaw)
    add("yaw_deg", np.abs(yaw[found]), right[found], [10, 15, 20, 25, 30, 35, 40, 50], False)
    report["measures"]["yaw_deg"]["faces_with_landmarks"] = int(found.sum())
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
