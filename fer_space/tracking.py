"""Face tracks across frames: greedy IoU matching and smoothed (EMA) probabilities, so labels do
not flicker from frame to frame. State is bounded: at most ``max_tracks`` tracks, each dropped
after ``max_missed`` frames without a match."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .faces import Box
from .labels import EMOTIONS


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two ``x1, y1, x2, y2`` boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class Track:
    """One face followed over frames; ``probs`` are smoothed, in canonical ``EMOTIONS`` order."""

    track_id: int
    box: Box
    probs: np.ndarray
    score: float
    landmarks: np.ndarray | None = None
    age: int = 1
    missed: int = 0

    @property
    def label(self) -> str:
        return EMOTIONS[int(self.probs.argmax())]

    @property
    def confidence(self) -> float:
        return float(self.probs.max())


class FaceTracker:
    """Match detections to tracks by IoU; blend new probabilities into each track with an EMA."""

    def __init__(self, *, iou_threshold: float = 0.3, smoothing: float = 0.6, max_missed: int = 5,
                 max_tracks: int = 32) -> None:
        self.iou_threshold = iou_threshold
        self.smoothing = smoothing  # weight of the past: 0 = no smoothing
        self.max_missed = max_missed
        self.max_tracks = max_tracks
        self.tracks: list[Track] = []
        self._next_id = 1

    def cut(self) -> None:
        """A scene cut: every track ends here; faces after it start new tracks (new ids)."""
        self.tracks = []

    def update(self, boxes: list[Box], probs: np.ndarray, scores: list[float],
               landmarks: list[np.ndarray | None] | None = None) -> list[Track]:
        """Feed this frame's faces; returns the tracks seen in this frame (in detection order)."""
        landmarks = landmarks or [None] * len(boxes)
        pairs = sorted(((iou(t.box, b), ti, di) for ti, t in enumerate(self.tracks) for di, b in enumerate(boxes)),
                       reverse=True)
        matched_tracks, assignment = set(), {}
        for overlap, ti, di in pairs:
            if overlap < self.iou_threshold:
                break
            if ti in matched_tracks or di in assignment:
                continue
            matched_tracks.add(ti)
            assignment[di] = ti
        seen = []
        for di, box in enumerate(boxes):
            if di in assignment:
                track = self.tracks[assignment[di]]
                track.probs = self.smoothing * track.probs + (1 - self.smoothing) * probs[di]
                track.box, track.score, track.landmarks = box, scores[di], landmarks[di]
                track.age += 1
                track.missed = 0
            else:
                track = Track(self._next_id, box, probs[di].astype(np.float64), scores[di], landmarks[di])
                self._next_id += 1
                self.tracks.append(track)
            seen.append(track)
        seen_ids = {t.track_id for t in seen}
        for track in self.tracks:
            if track.track_id not in seen_ids:
                track.missed += 1
        self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]
        if len(self.tracks) > self.max_tracks:  # keep the most recently seen
            self.tracks = sorted(self.tracks, key=lambda t: t.missed)[: self.max_tracks]
        return seen
