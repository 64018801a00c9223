"""Frame-by-frame processing for webcams and videos: detect every ``detect_every`` frames, classify
every frame on the current boxes, track and smooth, draw. One ``StreamSession`` per viewer."""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from .calibration import caption
from .faces import Face, FaceDetector
from .predictor import Predictor
from .render import box_colour, draw_boxes
from .tracking import FaceTracker, Track

# Webcam faces are large and near: a coarse pyramid on a half-size frame finds them in ~10-30 ms.
STREAM_DETECTOR = {"min_face_size": 40, "min_face_ratio": 0.12, "factor": 0.6, "max_side": 320}


def stream_detector(device: str = "cpu") -> FaceDetector:
    """The detector tuned for live video (see ``STREAM_DETECTOR``)."""
    return FaceDetector(**STREAM_DETECTOR, device=device)


@dataclass
class FrameResult:
    """What one frame produced."""

    annotated: np.ndarray
    tracks: list[Track]
    latency_ms: float
    fps: float
    detected: bool
    unsure: list[bool]  # per track: calibrated top probability below the model's threshold


class StreamSession:
    """Per-viewer state: tracker, frame counter and recent timings (all bounded)."""

    def __init__(self, predictor: Predictor, detector: FaceDetector | None = None, *, detect_every: int = 2,
                 smoothing: float = 0.6) -> None:
        self.predictor = predictor
        self.detector = detector or predictor.detector
        self.detect_every = max(1, detect_every)
        self.tracker = FaceTracker(smoothing=smoothing)
        self.frame_index = 0
        self._faces: list[Face] = []
        self._times: deque[float] = deque(maxlen=30)
        self._latencies: deque[float] = deque(maxlen=30)

    def process(self, rgb: np.ndarray) -> FrameResult:
        """Classify the faces of one RGB frame and return it annotated."""
        start = time.perf_counter()
        detected = self.frame_index % self.detect_every == 0 or not self._faces
        if detected:
            self._faces = self.detector.detect(rgb)
        self.frame_index += 1
        probs = self.predictor.classify_faces(self.predictor.crops(rgb, self._faces))
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
        return FrameResult(annotated, tracks, float(np.median(self._latencies)), fps, detected, unsure)
