"""Face detection (facenet-pytorch's MTCNN behind a small interface) and face crops.

``FaceDetector.detect(rgb)`` -> ``list[Face]`` (box clipped to the image, score, 5 landmarks:
left eye, right eye, nose, mouth left, mouth right as seen in the image).
``crop_face(rgb, face, margin, align)`` -> a square RGB crop, optionally rotated so the eyes are
level; ``box_region(crop, margin)`` -> the face box inside such a crop. Nothing else in the project
touches MTCNN.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from facenet_pytorch import MTCNN

from .runtime.lock import INFERENCE

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels

# Photos (image tab, CLI, Compare): faces under 5% of the shorter side (20 px at least) are not looked
# for, and the pyramid steps by 0.65. On the 11 example photos this detects 2.7x faster than MTCNN's
# defaults and misses 1 face of 31 (a 49 px face in the 725 px classroom photo): ``python -m bench.detector``.
PHOTO_DETECTOR = {"min_face_ratio": 0.05, "factor": 0.65}


@dataclass(frozen=True)
class Face:
    """One detected face, in pixel coordinates of the image it was found in."""

    box: Box
    score: float
    landmarks: np.ndarray | None = None  # (5, 2) x, y

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]


class FaceDetector:
    """MTCNN with the knobs that matter for speed and recall.

    ``min_face_size`` is in pixels and ``min_face_ratio`` a fraction of the image's shorter side
    (the larger wins); ``factor`` is the image-pyramid step (smaller = fewer scales, faster);
    ``max_side`` downscales large images before detection (boxes come back in full-size pixels);
    ``score_threshold`` drops weak detections.
    """

    def __init__(
        self,
        *,
        min_face_size: int = 20,
        min_face_ratio: float = 0.0,
        factor: float = 0.709,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        score_threshold: float = 0.9,
        max_side: int = 1280,
        device: str | torch.device = "cpu",
    ) -> None:
        self.mtcnn = MTCNN(keep_all=True, min_face_size=min_face_size, factor=factor,
                           thresholds=list(thresholds), device=device)
        self.min_face_size = min_face_size
        self.min_face_ratio = min_face_ratio
        self.score_threshold = score_threshold
        self.max_side = max_side
        self._lock = threading.Lock()  # MTCNN reads its min_face_size attribute, set per call

    @torch.inference_mode()
    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Faces in an RGB ``uint8`` image, largest first. Safe to call from several threads."""
        h, w = rgb.shape[:2]
        scale = min(1.0, self.max_side / max(h, w))
        small = rgb
        if scale < 1:
            small = cv2.resize(rgb, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        min_size = max(self.min_face_size, self.min_face_ratio * min(h, w))
        with self._lock, INFERENCE:
            self.mtcnn.min_face_size = max(12, int(min_size * scale))
            boxes, scores, points = self.mtcnn.detect(np.ascontiguousarray(small), landmarks=True)
        if boxes is None:
            return []
        faces = []
        for box, score, pts in zip(np.asarray(boxes, dtype=np.float64), np.asarray(scores, dtype=np.float64),
                                   np.asarray(points, dtype=np.float64), strict=False):
            if score < self.score_threshold:
                continue
            x1, y1, x2, y2 = (box / scale).tolist()
            x1, x2 = max(0.0, x1), min(float(w), x2)
            y1, y2 = max(0.0, y1), min(float(h), y2)
            if max(x2 - x1, y2 - y1) < min_size or min(x2 - x1, y2 - y1) < 2:
                continue
            faces.append(Face((x1, y1, x2, y2), float(score), pts / scale))
        return sorted(faces, key=lambda f: -(f.width * f.height))


def crop_face(
    rgb: np.ndarray, face: Face, *, margin: float = 0.15, align: bool = True, max_size: int = 256
) -> np.ndarray:
    """A square crop around ``face`` (side = larger box side x (1 + 2 margin)), at most ``max_size``
    pixels wide. With ``align`` and landmarks, the crop is rotated about the box centre so the eyes
    are level. Parts outside the image repeat the border."""
    x1, y1, x2, y2 = face.box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    out = int(max(1, min(max_size, round(side))))
    angle = 0.0
    if align and face.landmarks is not None:
        (lx, ly), (rx, ry) = face.landmarks[0], face.landmarks[1]
        angle = math.degrees(math.atan2(ry - ly, rx - lx))
    # Rotate by `angle` about the face centre, scale side -> out, and move the centre to the crop centre.
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, out / side)
    matrix[:, 2] += (out / 2 - cx, out / 2 - cy)
    return cv2.warpAffine(rgb, matrix, (out, out), flags=cv2.INTER_AREA if out < side else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def box_region(crop: np.ndarray, margin: float) -> np.ndarray:
    """The face box's square inside a ``crop_face`` crop made with ``margin`` (its central part; the whole
    crop when the margin is negative, a crop tighter than the box)."""
    side = crop.shape[0]
    inner = min(side, max(1, round(side / (1 + 2 * margin))))
    start = (side - inner) // 2
    return crop[start:start + inner, start:start + inner]
