"""Several models on the same faces: each model's answer for each face and what it cost.

The app's Compare tab and ``python -m fer_space compare IMAGE`` both use this: the faces are found
once, then each model reads its own crops of them (its margin) and is timed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .confidence import caption
from .faces import Face
from .labels import EMOTIONS
from .predictor import Predictor


@dataclass
class ModelAnswers:
    """One model's probabilities ``(faces, 7)`` (canonical order), unsure flags and time for all faces."""

    name: str
    predictor: Predictor
    probs: np.ndarray
    unsure: list[bool]
    ms: float

    @property
    def ms_per_face(self) -> float:
        return self.ms / max(1, len(self.probs))

    @property
    def captions(self) -> list[str]:
        return [caption(p, u) for p, u in zip(self.probs, self.unsure, strict=True)]


def compare(rgb: np.ndarray, faces: list[Face], predictors: dict[str, Predictor]) -> list[ModelAnswers]:
    """Every predictor on the same ``faces`` of ``rgb``, in the given order."""
    answers = []
    for name, predictor in predictors.items():
        start = time.perf_counter()
        probs = predictor.classify_faces(predictor.crops(rgb, faces))
        ms = (time.perf_counter() - start) * 1e3
        unsure = [predictor.model.calibration.is_unsure(p) for p in probs]
        answers.append(ModelAnswers(name, predictor, probs, unsure, ms))
    return answers


def published_accuracy(predictor: Predictor) -> str:
    """``72.0% val``: the model's published validation accuracy as it runs here, or ``no eval``."""
    metrics = predictor.metrics
    return f"{metrics['accuracy']:.1%} val" if "accuracy" in metrics else "no eval"


def long_rows(answers: list[ModelAnswers]) -> list[dict[str, Any]]:
    """One row per face and model: label, confidence, unsure, latency and the seven probabilities."""
    rows = []
    for a in answers:
        for i, (p, unsure) in enumerate(zip(a.probs, a.unsure, strict=True)):
            best = int(p.argmax())
            rows.append({"face": i + 1, "model": a.name, "label": EMOTIONS[best],
                         "confidence": round(float(p[best]), 3), "unsure": unsure,
                         "latency_ms": round(a.ms_per_face, 1),
                         **{e: round(float(v), 3) for e, v in zip(EMOTIONS, p, strict=True)}})
    return rows
