"""The records the project hands out: one face, one image, one face in one video frame.

The CLI's JSON lines, the app's JSON panel and the video's CSV are all built here, so they share
one schema: a face has its box, detection score, label, confidence, ``unsure``, caption, the seven
probabilities (canonical order), warnings and quality measures; an image adds its name, the model
(name, source, backend) and the time each stage took.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .labels import EMOTIONS
from .predictor import FaceResult, Prediction, Predictor

VIDEO_FIELDS = ["frame", "time_s", "track_id", "label", "confidence", "unsure", "x1", "y1", "x2", "y2", *EMOTIONS]


def face_record(face: FaceResult, heat_maps: dict[str, str] | None = None) -> dict[str, Any]:
    """One face; ``heat_maps``: Grad-CAM image paths by map name, when they were written."""
    record = {
        "box": [round(v, 1) for v in face.box],
        "detection_score": round(face.detection_score, 4),
        "label": face.label,
        "confidence": round(face.confidence, 4),
        "unsure": face.unsure,
        "caption": face.caption,
        "probabilities": {k: round(v, 4) for k, v in face.probabilities.items()},
        "warnings": face.warnings,
        "quality": face.quality,
    }
    if heat_maps is not None:
        record["heat_maps"] = heat_maps
    return record


def model_record(predictor: Predictor) -> dict[str, str]:
    """Which model answered, where it came from and how it ran."""
    return {"name": predictor.model.architecture, "source": predictor.source.describe(), "backend": predictor.backend}


def image_record(image: str, predictor: Predictor, prediction: Prediction,
                 heat_maps: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """Every face of one image, largest first, with the model and the stage timings."""
    maps = heat_maps if heat_maps is not None else [None] * len(prediction.faces)
    return {"image": image, "model": model_record(predictor),
            "faces": [face_record(f, m) for f, m in zip(prediction.faces, maps, strict=True)],
            "timing_ms": prediction.timing_ms}


def track_row(frame: int, time_s: float, track_id: int, box: tuple[float, ...], probs: np.ndarray,
              unsure: bool) -> dict[str, Any]:
    """One face in one video frame (a CSV row: ``VIDEO_FIELDS``)."""
    best = int(np.argmax(probs))
    return {"frame": frame, "time_s": round(time_s, 3), "track_id": track_id, "label": EMOTIONS[best],
            "confidence": round(float(probs[best]), 4), "unsure": unsure,
            **dict(zip(("x1", "y1", "x2", "y2"), (round(v, 1) for v in box), strict=True)),
            **{e: round(float(p), 4) for e, p in zip(EMOTIONS, probs, strict=True)}}
