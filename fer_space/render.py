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


Rect = tuple[int, int, int, int]  # x1, y1, x2, y2


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_labels(sizes: Sequence[tuple[int, int]], boxes: Sequence[Box], width: int, height: int) -> list[Rect] | None:
    """A rectangle for each label (``sizes``: width, height) inside the image and apart from the others:
    above its box, below it, or inside its top edge, left- or right-aligned; ``None`` when one does not fit."""
    placed: list[Rect] = []
    for (tw, th), box in zip(sizes, boxes, strict=True):
        x1, y1, x2, y2 = (round(v) for v in box)
        if tw > width or th > height:
            return None
        spots = [(x, y) for y in (y1 - th, y2, y1) for x in (x1, x2 - tw)]
        for x, y in spots:
            x, y = min(max(0, x), width - tw), min(max(0, y), height - th)
            rect = (x, y, x + tw, y + th)
            if not any(_overlap(rect, other) for other in placed):
                placed.append(rect)
                break
        else:
            return None
    return placed


def draw_boxes(rgb: np.ndarray, boxes: Sequence[Box], captions: Sequence[str],
               colours: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """A copy of ``rgb`` with captioned boxes. Line width and text size follow the image size, so small
    and large images stay legible. Captions stay inside the image and apart from each other; when they
    cannot (many or small faces), each face is numbered instead (#1, #2, ... in the order given, which
    the app's face list and the JSON follow)."""
    out = rgb.copy()
    h, w = out.shape[:2]
    unit = max(h, w) / 640
    thickness = max(1, round(2 * unit))
    font, font_scale, stroke = cv2.FONT_HERSHEY_SIMPLEX, max(0.4, 0.6 * unit), max(1, thickness // 2)

    def sizes(texts: Sequence[str], scale: float) -> list[tuple[int, int]]:
        out = []
        for text in texts:
            (tw, th), base = cv2.getTextSize(text, font, scale, stroke)
            out.append((tw + 4, th + base + 2))
        return out

    texts = list(captions)
    rects = place_labels(sizes(texts, font_scale), boxes, w, h)
    if rects is None:  # too many or too small to caption in place: number them
        texts = [f"#{i + 1}" for i in range(len(boxes))]
        for scale in (font_scale, font_scale * 0.75, 0.35):
            rects = place_labels(sizes(texts, scale), boxes, w, h)
            if rects is not None:
                font_scale = scale
                break
        else:  # still crowded: each number at its box's top-left corner
            rects = [(min(max(0, round(b[0])), w - tw), min(max(0, round(b[1])), h - th), 0, 0)
                     for b, (tw, th) in zip(boxes, sizes(texts, font_scale), strict=True)]
            rects = [(x, y, x + tw, y + th) for (x, y, _, _), (tw, th) in zip(rects, sizes(texts, font_scale),
                                                                             strict=True)]
    for box, colour in zip(boxes, colours, strict=True):
        x1, y1, x2, y2 = (round(v) for v in box)
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, thickness, cv2.LINE_AA)
    for text, colour, (x1, y1, x2, y2) in zip(texts, colours, rects, strict=True):
        cv2.rectangle(out, (x1, y1), (x2, y2), colour, -1)
        (_, _), base = cv2.getTextSize(text, font, font_scale, stroke)
        text_colour = (0, 0, 0) if sum(colour) > 380 else (255, 255, 255)
        cv2.putText(out, text, (x1 + 2, y2 - base - 1), font, font_scale, text_colour, stroke, cv2.LINE_AA)
    return out
