"""Video file in -> annotated video (WebM/VP8, plays in browsers), per-frame results and a CSV.

Face tracks end at scene cuts: a sampled frame whose 32x32 grey thumbnail differs from the previous
one's by more than ``CUT_LEVELS`` grey levels on average starts every track afresh, so one track never
joins two shots."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .errors import VideoError
from .predictor import Predictor
from .report import VIDEO_FIELDS, track_row
from .stream import StreamSession

CUT_LEVELS = 40.0  # mean absolute difference (0-255) of two frames' 32x32 grey thumbnails that marks a cut


def frame_signature(rgb: np.ndarray) -> np.ndarray:
    """A 32x32 grey thumbnail of a whole frame (float32), to tell a cut from motion."""
    return cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (32, 32), interpolation=cv2.INTER_AREA).astype(np.float32)


def first_frame(path: str | Path) -> tuple[np.ndarray, str]:
    """A video's first frame (RGB) and a line about it (size, length, frame rate), for a preview that
    any browser shows whatever the codec."""
    cap = cv2.VideoCapture(str(path))
    try:
        ok, frame = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            raise VideoError(f"{Path(path).name} is not a video we can read")
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
    finally:
        cap.release()
    length = f", {frames / fps:.1f} s at {fps:.0f} frames a second" if 0 < fps < 1000 and frames > 0 else ""
    return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), f"{frame.shape[1]}x{frame.shape[0]}{length}"


@dataclass
class VideoResult:
    video_path: Path
    csv_path: Path
    rows: list[dict]
    frames: int
    seconds: float
    truncated: bool


def process_video(
    path: str | Path,
    predictor: Predictor,
    out_dir: str | Path,
    *,
    max_seconds: float = 60.0,
    target_fps: float = 10.0,
    max_side: int = 640,
    progress: Callable[[float], None] | None = None,
) -> VideoResult:
    """Classify the faces of (at most ``max_seconds`` of) a video, sampled at ``target_fps``."""
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise VideoError(f"{Path(path).name} is not a video we can read")
    writer = None
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        if not 0 < fps < 1000:
            fps = 25.0
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        step = max(1, round(fps / target_fps))
        limit = int(max_seconds * fps)
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = Path(path).stem[:40] or "video"
        video_path, csv_path = out_dir / f"{stem}_annotated.webm", out_dir / f"{stem}_emotions.csv"
        session = StreamSession(predictor, detect_every=1)
        rows, index, kept, truncated, previous = [], 0, 0, False, None
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if index >= limit:
                truncated = True
                break
            if index % step == 0:
                h, w = frame.shape[:2]
                scale = min(1.0, max_side / max(h, w))
                if scale < 1:
                    frame = cv2.resize(frame, (round(w * scale) // 2 * 2, round(h * scale) // 2 * 2),
                                       interpolation=cv2.INTER_AREA)
                rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
                signature = frame_signature(rgb)
                if previous is not None and float(np.abs(signature - previous).mean()) > CUT_LEVELS:
                    session.cut()
                previous = signature
                result = session.process(rgb)
                if writer is None:
                    writer = cv2.VideoWriter(str(video_path), cv2.VideoWriter_fourcc(*"VP80"), fps / step,
                                             (rgb.shape[1], rgb.shape[0]))
                writer.write(cv2.cvtColor(result.annotated, cv2.COLOR_RGB2BGR))
                for t, unsure in zip(result.tracks, result.unsure, strict=True):
                    rows.append(track_row(index, index / fps, t.track_id, t.box, t.probs, unsure))
                kept += 1
                if progress and total:
                    progress(min(1.0, index / min(total, limit)))
            index += 1
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    if kept == 0:
        raise VideoError(f"{Path(path).name} has no frames we can decode")
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=VIDEO_FIELDS)
        w.writeheader()
        w.writerows(rows)
    return VideoResult(video_path, csv_path, rows, kept, index / fps, truncated)
