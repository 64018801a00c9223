"""The Predictor: image -> faces -> one batched forward -> ``FaceResult`` per face.

Every entry point (CLI, app, video, evaluation of crops) goes through here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .backends import make_runner
from .compute import INFERENCE
from .faces import Face, FaceDetector, crop_face
from .images import load_image
from .labels import EMOTIONS, canonical_order
from .models import FERClassifier
from .preprocess import eval_transform
from .sources import ModelSource, resolve_and_load


@dataclass
class FaceResult:
    """One face: where it is, how sure the detector was, and the emotion probabilities."""

    box: tuple[float, float, float, float]
    detection_score: float
    label: str
    confidence: float
    probabilities: dict[str, float]
    landmarks: list[list[float]] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The CLI/API JSON schema of a face."""
        return {
            "box": [round(v, 1) for v in self.box],
            "detection_score": round(self.detection_score, 4),
            "label": self.label,
            "confidence": round(self.confidence, 4),
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
        }


@dataclass
class Prediction:
    """All faces of one image, the decoded RGB image, the face crops and the time each stage took."""

    faces: list[FaceResult]
    image: np.ndarray = field(repr=False)
    crops: list[np.ndarray] = field(repr=False)
    timing_ms: dict[str, float] = field(default_factory=dict)


def pick_device(device: str | torch.device = "auto") -> torch.device:
    """``auto`` -> CUDA when present, else CPU."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class Predictor:
    """A classifier, a face detector and the glue between them."""

    def __init__(
        self,
        model: FERClassifier,
        *,
        source: ModelSource | None = None,
        detector: FaceDetector | None = None,
        device: str | torch.device = "auto",
        align: bool = True,
        backend: str = "auto",
    ) -> None:
        self.device = pick_device(device)
        self.model = model.to(self.device).eval()
        self.runner, self.backend = make_runner(self.model, backend, self.device)
        self.source = source or ModelSource("local", "in-memory model")
        self.detector = detector or FaceDetector(device=self.device)
        self.align = align
        self.transform = eval_transform(model)
        # Model outputs follow its own id2label; results are always reported in canonical order.
        self._order = canonical_order(model.labels)

    @classmethod
    def from_pretrained(
        cls,
        source: str | Path | None = None,
        *,
        revision: str | None = None,
        device: str = "auto",
        detector: FaceDetector | None = None,
        align: bool = True,
        backend: str = "auto",
    ) -> Predictor:
        """Load a model from a Hub repo id, a local folder or ``"embedded"`` (see ``sources``).
        ``backend``: ``auto`` (ONNX Runtime on CPU, PyTorch on GPU), ``torch`` or ``onnx``."""
        dev = pick_device(device)
        model, src = resolve_and_load(source, revision=revision, device=str(dev))
        return cls(model, source=src, detector=detector, device=dev, align=align, backend=backend)

    @property
    def model_name(self) -> str:
        return self.source.location

    def crops(self, rgb: np.ndarray, faces: list[Face], align: bool | None = None) -> list[np.ndarray]:
        """The model's crops of ``faces`` (its margin; eyes levelled when ``align``, default ``self.align``)."""
        align = self.align if align is None else align
        return [crop_face(rgb, f, margin=self.model.crop_margin, align=align) for f in faces]

    @torch.inference_mode()
    def classify_faces(self, crops: list[np.ndarray]) -> np.ndarray:
        """Probabilities ``(N, 7)`` in canonical ``EMOTIONS`` order for face crops (uint8 arrays)."""
        if not crops:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        batch = torch.stack([self.transform(c) for c in crops]).to(self.device)
        with INFERENCE:
            probs = self.runner(batch).float().softmax(dim=1).cpu().numpy()
        return probs[:, self._order]

    def results(self, faces: list[Face], probs: np.ndarray) -> list[FaceResult]:
        """Pair detections with their probabilities."""
        out = []
        for face, p in zip(faces, probs, strict=False):
            best = int(p.argmax())
            out.append(FaceResult(
                box=face.box,
                detection_score=face.score,
                label=EMOTIONS[best],
                confidence=float(p[best]),
                probabilities={name: float(v) for name, v in zip(EMOTIONS, p, strict=False)},
                landmarks=None if face.landmarks is None else face.landmarks.round(1).tolist(),
            ))
        return out

    def predict_timed(self, image: Any, *, bgr: bool = False, align: bool | None = None) -> Prediction:
        """Detect and classify every face of ``image`` (path, bytes, PIL or array), with timings."""
        t0 = time.perf_counter()
        rgb = load_image(image, bgr=bgr)
        t1 = time.perf_counter()
        faces = self.detector.detect(rgb)
        t2 = time.perf_counter()
        crops = self.crops(rgb, faces, align)
        probs = self.classify_faces(crops)
        t3 = time.perf_counter()
        timing = {"decode": (t1 - t0) * 1e3, "detect": (t2 - t1) * 1e3, "classify": (t3 - t2) * 1e3,
                  "total": (t3 - t0) * 1e3}
        return Prediction(self.results(faces, probs), rgb, crops, {k: round(v, 1) for k, v in timing.items()})

    def predict(self, image: Any, *, bgr: bool = False) -> list[FaceResult]:
        """``FaceResult`` for every face of ``image``, largest face first; ``[]`` when none."""
        return self.predict_timed(image, bgr=bgr).faces
