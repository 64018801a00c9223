"""Annotated copies of images: a box, the label and its confidence for each face."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .faces import Box
from .predictor import FaceResult

# RGB colour per emotion, readable on photos and distinct for colour-blind viewers (Okabe-Ito).
COLOURS: dict[str, tuple[int, int, int]] = {
    "angry": (213, 94, 0),
    "disgust": (0, 158, 115),
    "fear": (204, 121, 167),
    "happy": (230, 159, 0),
    "neutral": (160, 160, 160),
    "sad": (0, 114, 178),
    "surprise": (86, 180, 233),
}
NEUTRAL_BOX = (255, 255, 255)


def annotate(rgb: np.ndarray, faces: Sequence[FaceResult]) -> np.ndarray:
    """A copy of ``rgb`` with each face boxed in its emotion's colour and captioned ``label 87%``
    (an unsure face in neutral white, captioned ``unsure: sad / neutral``; ``!`` marks a quality warning)."""
    return draw_boxes(rgb, [f.box for f in faces], [f.caption + (" !" if f.warnings else "") for f in faces],
                      [box_colour(f.label, f.unsure) for f in faces])


def box_colour(label: str, unsure: bool) -> tuple[int, int, int]:
    """The emotion's colour, or white for a face the model is unsure of."""
    return NEUTRAL_BOX if unsure else COLOURS[label]


def draw_boxes(rgb: np.ndarray, boxes: Sequence[Box], captions: Sequence[str],
               colours: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """A copy of ``rgb`` with captioned boxes. Line width and text size follow the image size, so
    small and large images stay legible."""
    out = rgb.copy()
    h, w = out.shape[:2]
    unit = max(h, w) / 640
    thickness = max(1, round(2 * unit))
    font_scale = max(0.4, 0.6 * unit)
    font = cv2.FONT_HERSHEY_SIMPLEX
    for box, text, colour in zip(boxes, captions, colours, strict=True):
        x1, y1, x2, y2 = (round(v) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness, cv2.LINE_AA)
        (tw, th), base = cv2.getTextSize(text, font, font_scale, max(1, thickness // 2))
        ty = y1 - 4 if y1 - th - base - 4 >= 0 else min(h - 1, y2 + th + base + 4)
        tx = min(max(0, x1), max(0, w - tw - 4))
        cv2.rectangle(out, (tx, ty - th - base), (tx + tw + 4, ty + base // 2), colour, -1)
        text_colour = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
        cv2.putText(out, text, (tx + 2, ty - base // 2), font, font_scale, text_colour, max(1, thickness // 2),
                    cv2.LINE_AA)
    return out
