"""Frame-by-frame processing for webcams and videos: detect every ``detect_every`` frames, classify
the faces that changed on the current boxes, track and smooth, draw. One ``StreamSession`` per viewer."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from .confidence import caption
from .faces import Box, Face, FaceDetector
from .labels import EMOTIONS
from .predictor import Predictor
from .render import box_colour, draw_boxes
from .tracking import FaceTracker, Track, iou

# Webcam faces are large and near: a coarse pyramid on a half-size frame finds them in ~10-30 ms.
STREAM_DETECTOR = {"min_face_size": 40, "min_face_ratio": 0.12, "factor": 0.6, "max_side": 320}


# A face whose 16x16 grey thumbnail differs from the one last classified by less than STILL_LEVELS
# (mean absolute difference, 0-255) keeps its probabilities, for at most REUSE_FRAMES frames in a row
# and never while the model is unsure of it: a still face costs no classifier pass.
STILL_LEVELS = 2.0
REUSE_FRAMES = 5


def stream_detector(device: str = "cpu") -> FaceDetector:
    """The detector tuned for live video (see ``STREAM_DETECTOR``)."""
    return FaceDetector(**STREAM_DETECTOR, device=device)


def thumbnail(rgb: np.ndarray, box: Box) -> np.ndarray:
    """A 16x16 grey copy of the box's pixels (float32), to tell a still face from a changed one."""
    h, w = rgb.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(w, max(x1 + 1, int(box[2]))), min(h, max(y1 + 1, int(box[3])))
    grey = cv2.cvtColor(np.ascontiguousarray(rgb[y1:y2, x1:x2]), cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, (16, 16), interpolation=cv2.INTER_AREA).astype(np.float32)


@dataclass
class _Classified:
    """A face's last classifier answer, with the thumbnail it was given for."""

    box: Box
    thumb: np.ndarray
    probs: np.ndarray
    reused: int = 0


@dataclass
class FrameResult:
    """What one frame produced."""

    annotated: np.ndarray
    tracks: list[Track]
    latency_ms: float
    fps: float
    detected: bool
    classified: int  # faces sent to the classifier this frame (the others were still)
    unsure: list[bool]  # per track: calibrated top probability below the model's threshold


class StreamSession:
    """Per-viewer state: tracker, frame counter and recent timings (all bounded)."""

    def __init__(self, predictor: Predictor, detector: FaceDetector | None = None, *, detect_every: int = 2,
                 smoothing: float = 0.6, skip_still: bool = True) -> None:
        self.predictor = predictor
        self.detector = detector or predictor.detector
        self.detect_every = max(1, detect_every)
        self.skip_still = skip_still
        self.tracker = FaceTracker(smoothing=smoothing)
        self.frame_index = 0
        self._faces: list[Face] = []
        self._classified: list[_Classified] = []
        self._times: deque[float] = deque(maxlen=30)
        self._latencies: deque[float] = deque(maxlen=30)

    def cut(self) -> None:
        """A scene cut: forget the faces, their answers and tracks; the next frame detects afresh."""
        self.tracker.cut()
        self._faces, self._classified = [], []

    def process(self, rgb: np.ndarray) -> FrameResult:
        """Classify the faces of one RGB frame and return it annotated."""
        start = time.perf_counter()
        detected = self.frame_index % self.detect_every == 0 or not self._faces
        if detected:
            self._faces = self.detector.detect(rgb)
        self.frame_index += 1
        probs, classified = self._classify(rgb)
        tracks = self.tracker.update([f.box for f in self._faces], probs, [f.score for f in self._faces],
                                     [f.landmarks for f in self._faces])
        calibration = self.predictor.model.calibration
        unsure = [calibration.is_unsure(t.probs) for t in tracks]
        annotated = draw_boxes(rgb, [t.box for t in tracks],
                               [f"#{t.track_id} {caption(t.probs, u)}" for t, u in zip(tracks, unsure, strict=True)],
                               [box_colour(t.label, u) for t, u in zip(tracks, unsure, strict=True)])
        now = time.perf_counter()
        self._times.append(now)
        self._latencies.append((now - start) * 1e3)
        fps = (len(self._times) - 1) / (self._times[-1] - self._times[0]) if len(self._times) > 1 else 0.0
        return FrameResult(annotated, tracks, float(np.median(self._latencies)), fps, detected, classified, unsure)

    def _still(self, box: Box, thumb: np.ndarray) -> _Classified | None:
        """The last answer for this face, if the face has not changed since and may keep it."""
        if not self.skip_still or not self._classified:
            return None
        last = max(self._classified, key=lambda c: iou(c.box, box))
        if (iou(last.box, box) < 0.7 or last.reused >= REUSE_FRAMES
                or self.predictor.model.calibration.is_unsure(last.probs)):
            return None
        return last if float(np.abs(thumb - last.thumb).mean()) < STILL_LEVELS else None

    def _classify(self, rgb: np.ndarray) -> tuple[np.ndarray, int]:
        """Probabilities for the current faces: the classifier for the changed ones, the last answer for
        the still ones. Returns them with the number of faces classified."""
        thumbs = [thumbnail(rgb, f.box) for f in self._faces]
        still = [self._still(f.box, t) for f, t in zip(self._faces, thumbs, strict=True)]
        changed = [f for f, s in zip(self._faces, still, strict=True) if s is None]
        fresh = iter(self.predictor.classify_faces(self.predictor.crops(rgb, changed)))
        answers = [_Classified(f.box, s.thumb, s.probs, s.reused + 1) if s else _Classified(f.box, t, next(fresh))
                   for f, t, s in zip(self._faces, thumbs, still, strict=True)]
        self._classified = answers
        probs = np.stack([a.probs for a in answers]) if answers else np.zeros((0, len(EMOTIONS)), np.float32)
        return probs, len(changed)
