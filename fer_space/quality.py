"""Face-quality warnings from cheap measures: size, blur, exposure and head turn.

Each measure is taken on what a classifier reads: the face box inside the classifier's crop (all of a
crop as tight as FER2013's framing), as a 48x48 grey image (the size of FER2013's faces), except the
size itself (the box's shorter side in the photo's pixels) and the head turn (from MTCNN's five
landmarks). The thresholds were measured on FER2013 PublicTest with the Compact CNN (68.5% on all 3,589
faces): each marks where the faces beyond it are read right at least 10 points less often
(``python -m training.quality_thresholds --model embedded:compact_cnn --data data/fer2013.csv``;
docs/trust.md has the table). Bright faces and turned heads (up to the 50 degrees measured) showed no
such drop there, so they are measured and reported but not warned about.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .faces import Face, box_region

SIDE = 48  # measures are taken on a 48x48 grey face, as FER2013's faces are stored


@dataclass(frozen=True)
class Thresholds:
    """Where a measure starts to cost accuracy on FER2013 PublicTest (see the module docstring)."""

    min_face_px: float = 30.0  # faces shrunk to 28 px: 57.2% (-11.3 points); to 32 px: 60.9% (-7.6)
    min_sharpness: float = 0.22  # the 36 blurriest faces (below 0.22): 55.6% (-12.9)
    min_brightness: float = 40.0  # the 13 darkest faces (mean below 40): 53.8% (-14.7); few, so weak evidence
    max_clipped: float = 0.4  # the 18 faces with over 40% of pixels at <= 5 or >= 250: 55.6% (-12.9)


THRESHOLDS = Thresholds()


def grey_face(crop: np.ndarray, margin: float) -> np.ndarray:
    """The face box of a classifier's crop (made with ``margin``) as a 48x48 grey uint8 image."""
    box = np.ascontiguousarray(box_region(crop, margin))
    return cv2.resize(cv2.cvtColor(box, cv2.COLOR_RGB2GRAY), (SIDE, SIDE), interpolation=cv2.INTER_AREA)


def image_measures(grey: np.ndarray) -> dict[str, float]:
    """Sharpness (variance of the Laplacian over the variance of the grey levels, so a dark or flat
    face is not taken for a blurred one), brightness and clipped fraction of a 48x48 grey face."""
    grey = np.asarray(grey, dtype=np.uint8)
    return {
        "sharpness": float(cv2.Laplacian(grey, cv2.CV_64F).var() / max(float(grey.var()), 1.0)),
        "brightness": float(grey.mean()),
        "clipped": float(((grey <= 5) | (grey >= 250)).mean()),
    }


def yaw_degrees(landmarks: np.ndarray) -> float:
    """Head turn estimated from 5 landmarks (eyes, nose, mouth corners): how far the nose sits from the
    eyes' midpoint along the eye line, as a fraction of half the eye distance, read as a sine."""
    left_eye, right_eye, nose = (np.asarray(p, dtype=float) for p in landmarks[:3])
    axis = right_eye - left_eye
    half = np.linalg.norm(axis) / 2
    if half < 1e-6:
        return 90.0
    offset = float(np.dot(nose - (left_eye + right_eye) / 2, axis / (2 * half)) / half)
    return math.degrees(math.asin(max(-1.0, min(1.0, offset))))


def measure(face: Face, crop: np.ndarray, margin: float) -> dict[str, float]:
    """All measures of one detected face, taken on the crop its classifier read (made with ``margin``)."""
    values = {"face_px": float(min(face.width, face.height)), **image_measures(grey_face(crop, margin))}
    if face.landmarks is not None:
        values["yaw_deg"] = yaw_degrees(face.landmarks)
    return {k: round(v, 3) for k, v in values.items()}


def warnings(values: dict[str, float], limits: Thresholds = THRESHOLDS) -> list[str]:
    """Plain sentences for the measures beyond their thresholds."""
    out = []
    if values.get("face_px", math.inf) < limits.min_face_px:
        out.append(f"face is small ({values['face_px']:.0f} px): expression may be misread")
    if values.get("sharpness", math.inf) < limits.min_sharpness:
        out.append("face is blurred: expression may be misread")
    if values.get("brightness", 128) < limits.min_brightness:
        out.append("face is dark: expression may be misread")
    elif values.get("clipped", 0.0) > limits.max_clipped:
        out.append(f"face is over- or underexposed ({values['clipped']:.0%} of it clipped): expression may be misread")
    return out
