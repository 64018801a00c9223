"""Whole-pipeline evaluation on faces of known framing: detector -> crop -> classifier, as the app runs.

``python -m training.pipeline_eval --model SOURCE --data fer2013.csv --split PublicTest [--limit N] [--json]``

Each FER2013 face is upscaled as a camera would see it (``side`` px, random in ``--sizes``) and pasted
at a random place into a larger canvas whose background is not a face (smooth grey noise). The app's
detector, crop and classifier then read the canvas. Reported: the detection rate (a detection whose
centre lies in the pasted frame), the accuracy over all faces (a miss counts as wrong), and the accuracy
of the same classifier on the same faces read directly, as in ``training.evaluate``. With ``--framing``
it also reports where the pasted frame lies relative to the detector's box and landmarks (medians and
quartiles), the mapping the crop has to reproduce. Canvases are fixed by ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from fer_space.faces import PHOTO_DETECTOR, Face, FaceDetector
from fer_space.predictor import Predictor, pick_device

from .data import FaceArrays, limit_faces, load_faces
from .evaluate import canonical_probs


@dataclass(frozen=True)
class Canvas:
    """One face pasted into a photo-like canvas: the RGB canvas and where its 48 px frame lies."""

    rgb: np.ndarray
    x: int
    y: int
    side: int


def make_canvas(face: np.ndarray, rng: np.random.Generator, sizes: tuple[int, int] = (96, 192),
                canvas: tuple[int, int] = (480, 360)) -> Canvas:
    """``face`` (48x48 grey uint8) upscaled to a random side in ``sizes`` and pasted at a random place
    into a ``canvas`` (width, height) of smooth grey noise."""
    width, height = canvas
    side = int(rng.integers(sizes[0], sizes[1] + 1))
    coarse = rng.integers(40, 216, (height // 40 + 2, width // 40 + 2)).astype(np.float32)
    background = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    background = np.clip(background + rng.normal(0, 6, background.shape), 0, 255).astype(np.uint8)
    x, y = int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))
    background[y:y + side, x:x + side] = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    return Canvas(np.repeat(background[:, :, None], 3, axis=2), x, y, side)


def canvases(faces: FaceArrays, seed: int, sizes: tuple[int, int] = (96, 192)) -> Iterator[Canvas]:
    """One canvas per face, in order; the same ``seed`` gives the same canvases."""
    rng = np.random.default_rng(seed)
    for image in faces.images:
        yield make_canvas(image, rng, sizes)


def matching_face(faces: list[Face], canvas: Canvas) -> Face | None:
    """The detection whose box centre lies inside the pasted frame (the largest if several), or None."""
    for face in faces:  # largest first
        cx, cy = (face.box[0] + face.box[2]) / 2, (face.box[1] + face.box[3]) / 2
        if canvas.x <= cx <= canvas.x + canvas.side and canvas.y <= cy <= canvas.y + canvas.side:
            return face
    return None


def framing(face: Face, canvas: Canvas) -> dict[str, float]:
    """Where the pasted frame lies relative to the detection: its side over the box's width and
    height, its centre's offset from the box centre (in box widths / heights), and its side over the
    distance between the eyes, with the offset of its centre below the eyes' midpoint (in that distance)."""
    x1, y1, x2, y2 = face.box
    w, h = x2 - x1, y2 - y1
    fx, fy = canvas.x + canvas.side / 2, canvas.y + canvas.side / 2
    out = {"side_over_width": canvas.side / w, "side_over_height": canvas.side / h,
           "dx_over_width": (fx - (x1 + x2) / 2) / w, "dy_over_height": (fy - (y1 + y2) / 2) / h}
    if face.landmarks is not None:
        (lx, ly), (rx, ry) = face.landmarks[0], face.landmarks[1]
        eyes = float(np.hypot(rx - lx, ry - ly))
        out |= {"side_over_eyes": canvas.side / eyes, "dy_below_eyes": (fy - (ly + ry) / 2) / eyes}
    return out


def evaluate_pipeline(predictor: Predictor, faces: FaceArrays, seed: int = 0, sizes: tuple[int, int] = (96, 192),
                      crops: dict[str, tuple[float, bool]] | None = None) -> dict:
    """Detection rate, pipeline accuracy (a miss counts as wrong) for the app's crop and for each of
    ``crops`` (name -> crop margin, eyes levelled), direct accuracy on the same faces, and the framing
    measures of every detected face. The detector runs once for all crops."""
    crops = {"app": (predictor.model.crop_margin, predictor.align), **(crops or {})}
    direct = canonical_probs(predictor.model, faces.images, runner=predictor.runner).argmax(1)
    predicted = {name: np.full(len(faces), -1) for name in crops}
    measures: list[dict[str, float]] = []
    for i, canvas in enumerate(canvases(faces, seed, sizes)):
        face = matching_face(predictor.detector.detect(canvas.rgb), canvas)
        if face is None:
            continue
        for name, (margin, align) in crops.items():
            crop = predictor.crops(canvas.rgb, [face], align=align, margin=margin)
            predicted[name][i] = int(predictor.classify_faces(crop)[0].argmax())
        measures.append(framing(face, canvas))
    labels, found = faces.labels, predicted["app"] >= 0
    return {"n": len(faces), "detected": float(found.mean()), "direct_accuracy": float((direct == labels).mean()),
            "pipeline_accuracy": {name: float((p == labels).mean()) for name, p in predicted.items()},
            "crops": {name: {"margin": m, "align": a} for name, (m, a) in crops.items()},
            "framing": {k: np.percentile([m[k] for m in measures if k in m], [25, 50, 75]).round(3).tolist()
                        for k in (measures[0] if measures else {})}}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.pipeline_eval", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model source (default: the embedded default)")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz)")
    p.add_argument("--split", default="PublicTest")
    p.add_argument("--limit", type=int, help="this many faces of the split, drawn with --seed")
    p.add_argument("--seed", type=int, default=0, help="fixes the faces drawn and the canvases")
    p.add_argument("--sizes", type=int, nargs=2, default=(96, 192), metavar=("MIN", "MAX"),
                   help="the pasted face's side in pixels")
    p.add_argument("--crop", action="append", default=[], metavar="NAME=MARGIN[,noalign]",
                   help="also score this crop (repeatable), e.g. tight=-0.025 or tight_level=-0.025,noalign")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        device = pick_device("auto")
        predictor = Predictor.from_pretrained(args.model, device=str(device),
                                              detector=FaceDetector(**PHOTO_DETECTOR, device=device))
        faces = load_faces(args.data).split(args.split)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.limit:
        faces = limit_faces(faces, args.limit, args.seed)
    crops = {}
    for item in args.crop:
        name, _, spec = item.partition("=")
        margin, _, flag = spec.partition(",")
        crops[name] = (float(margin), flag != "noalign")
    result = evaluate_pipeline(predictor, faces, args.seed, tuple(args.sizes), crops)
    result |= {"model": predictor.source.describe(), "split": args.split, "seed": args.seed, "sizes": args.sizes}
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{result['model']} on {args.split} ({result['n']} faces, seed {args.seed}): detected "
              f"{result['detected']:.1%}, direct {result['direct_accuracy']:.2%}")
        for name, accuracy in result["pipeline_accuracy"].items():
            crop = result["crops"][name]
            print(f"  pipeline, crop {name} (margin {crop['margin']}, eyes levelled {crop['align']}): {accuracy:.2%}")
        for key, (q1, median, q3) in result["framing"].items():
            print(f"  {key:18s} median {median:.3f} (quartiles {q1:.3f} - {q3:.3f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
