"""Video file in -> annotated video (WebM/VP8, plays in browsers), per-frame results and a CSV."""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2

from .errors import VideoError
from .predictor import Predictor
from .report import VIDEO_FIELDS, track_row
from .stream import StreamSession


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
        rows, index, kept, truncated = [], 0, 0, False
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
