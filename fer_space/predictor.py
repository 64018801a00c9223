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

from . import quality
from .confidence import caption
from .explain import gradcam
from .faces import PHOTO_DETECTOR, Face, FaceDetector, crop_face
from .images import load_image
from .labels import EMOTIONS, canonical_order
from .models import FERClassifier
from .preprocess import eval_transform
from .runtime.backends import make_runner
from .runtime.lock import INFERENCE
from .sources import ModelSource, resolve_and_load


@dataclass
class FaceResult:
    """One face: where it is, how sure the detector was, the calibrated expression probabilities,
    whether the model is unsure of it, and plain warnings about the face's quality."""

    box: tuple[float, float, float, float]
    detection_score: float
    label: str
    confidence: float
    probabilities: dict[str, float]
    landmarks: list[list[float]] | None = None
    unsure: bool = False
    warnings: list[str] = field(default_factory=list)
    quality: dict[str, float] = field(default_factory=dict)

    @property
    def caption(self) -> str:
        """``happy 87%``, or ``unsure: sad / neutral`` when the model is unsure."""
        return caption(np.array(list(self.probabilities.values())), self.unsure)


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
        align: bool | None = None,
        backend: str = "auto",
    ) -> None:
        self.device = pick_device(device)
        self.model = model.to(self.device).eval()
        self.runner, self.backend = make_runner(self.model, backend, self.device)
        self.source = source or ModelSource("local", "in-memory model")
        self.detector = detector or FaceDetector(**PHOTO_DETECTOR, device=self.device)
        self.align = model.crop_align if align is None else align  # level the eyes: the model's own choice
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
        align: bool | None = None,
        backend: str = "auto",
    ) -> Predictor:
        """Load a model from a Hub repo id, a local folder or ``"embedded"`` (see ``sources``).
        ``backend``: ``auto`` (ONNX Runtime on CPU, in int8 where the model has ranges; PyTorch on
        GPU), ``torch``, ``onnx`` (float32) or ``int8``."""
        dev = pick_device(device)
        model, src = resolve_and_load(source, revision=revision, device=str(dev))
        return cls(model, source=src, detector=detector, device=dev, align=align, backend=backend)

    @property
    def model_name(self) -> str:
        return self.source.location

    @property
    def metrics(self) -> dict[str, Any]:
        """The model's published evaluation as this predictor runs it: in int8, the int8 scores that
        ``training.quantize`` measured (with ``"precision": "int8"``) over the float32 ones."""
        metrics = self.source.metrics
        int8 = metrics.get("int8", {}).get("int8")
        if self.backend == "onnxruntime-int8" and int8:
            return {**metrics, **int8, "precision": "int8"}
        return metrics

    def crops(self, rgb: np.ndarray, faces: list[Face], align: bool | None = None,
              margin: float | None = None) -> list[np.ndarray]:
        """The model's crops of ``faces``: its ``crop_margin`` (or ``margin``), eyes levelled when ``align``
        (default ``self.align``)."""
        align = self.align if align is None else align
        margin = self.model.crop_margin if margin is None else margin
        return [crop_face(rgb, f, margin=margin, align=align) for f in faces]

    @torch.inference_mode()
    def classify_faces(self, crops: list[np.ndarray]) -> np.ndarray:
        """Probabilities ``(N, 7)`` in canonical ``EMOTIONS`` order for face crops (uint8 arrays)."""
        if not crops:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        batch = torch.stack([self.transform(c) for c in crops]).to(self.device)
        with INFERENCE:
            probs = self.model.calibration.probabilities(self.runner(batch)).cpu().numpy()
        return probs[:, self._order]

    def explain(self, crops: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """Grad-CAM heat maps of each face crop for its top expression: one ``(H, W)`` map in ``[0, 1]``
        per name (``model``; ``Swin branch`` and ``ResNet branch`` for Swin-SE-ResNet), at the
        model's input size. Runs the PyTorch model with gradients (slower than ``classify_faces``)."""
        if not crops:
            return []
        batch = torch.stack([self.transform(c) for c in crops]).to(self.device)
        with INFERENCE:
            maps = gradcam(self.model, batch)
        return [{name: heat[i] for name, heat in maps.items()} for i in range(len(crops))]

    def results(self, faces: list[Face], probs: np.ndarray, crops: list[np.ndarray] | None = None) -> list[FaceResult]:
        """Pair detections with their probabilities; with the ``crops`` the model read, also measure
        each face's quality on them."""
        out = []
        for i, (face, p) in enumerate(zip(faces, probs, strict=False)):
            best = int(p.argmax())
            measures = quality.measure(face, crops[i], self.model.crop_margin) if crops is not None else {}
            out.append(FaceResult(
                box=face.box,
                detection_score=face.score,
                label=EMOTIONS[best],
                confidence=float(p[best]),
                probabilities={name: float(v) for name, v in zip(EMOTIONS, p, strict=False)},
                landmarks=None if face.landmarks is None else face.landmarks.round(1).tolist(),
                unsure=self.model.calibration.is_unsure(p),
                warnings=quality.warnings(measures),
                quality=measures,
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
        results = self.results(faces, probs, crops)
        timing = {"decode": (t1 - t0) * 1e3, "detect": (t2 - t1) * 1e3, "classify": (t3 - t2) * 1e3,
                  "total": (time.perf_counter() - t0) * 1e3}
        return Prediction(results, rgb, crops, {k: round(v, 1) for k, v in timing.items()})

    def predict(self, image: Any, *, bgr: bool = False) -> list[FaceResult]:
        """``FaceResult`` for every face of ``image``, largest face first; ``[]`` when none."""
        return self.predict_timed(image, bgr=bgr).faces
