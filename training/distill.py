"""Knowledge distillation targets: train a model on a teacher's probabilities.

A teacher is any model source (a run's ``best/`` folder, a shipped ensemble, a Hub repo, an
``embedded:`` name). It reads every training face once, unaugmented and mirrored, before training;
the target of a face is ``weight`` x the teacher's probabilities + (1 - ``weight``) x its own label
(one-hot, or FER+ soft label). The targets are cached beside the run so a resume does not pay again.
An ``OnlineTeacher`` instead reads each augmented batch as the student sees it (consistent teaching).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from fer_space.labels import EMOTIONS, canonical_order
from fer_space.models import FERClassifier
from fer_space.runtime.backends import make_runner
from fer_space.sources import resolve_and_load

from .data import FaceArrays
from .evaluate import canonical_probs


def teacher_probs(source: str, faces: FaceArrays, device: torch.device | str = "cpu") -> np.ndarray:
    """The teacher's probabilities ``(N, 7)`` for ``faces``, averaged with the mirrored face, in the
    canonical label order. On CPU the teacher runs on ONNX Runtime when it exports (about twice as fast
    as eager PyTorch for the shipped ensemble)."""
    teacher, _ = resolve_and_load(source, device=str(device))
    runner, _ = make_runner(teacher, "auto", torch.device(device))
    mirrored_inside = getattr(teacher, "flip", False)  # an Ensemble built with flip already averages
    return canonical_probs(teacher, faces.images, device=device, tta_flip=not mirrored_inside, runner=runner)


def one_hot(own: np.ndarray) -> np.ndarray:
    """Label indices as one-hot rows; soft labels ``(N, 7)`` pass through."""
    return np.eye(len(EMOTIONS), dtype=np.float32)[own] if own.ndim == 1 else own


class OnlineTeacher:
    """A teacher that reads the student's own augmented batch. It must take the student's input
    (size, channels, normalisation), so that one tensor feeds both."""

    def __init__(self, source: str, student: FERClassifier, device: torch.device | str = "cpu") -> None:
        model, _ = resolve_and_load(source, device=str(device))
        differ = [k for k in ("img_size", "in_chans", "mean", "std") if getattr(model, k) != getattr(student, k)]
        if differ:
            raise ValueError(f"teacher {source} does not take the student's input ({', '.join(differ)} differ)")
        self.model = model.eval().requires_grad_(False)
        self.order = torch.as_tensor(canonical_order(model.labels), device=device)

    @torch.no_grad()
    def targets(self, images: torch.Tensor, own: torch.Tensor, weight: float) -> torch.Tensor:
        """``weight`` x the teacher's probabilities of ``images`` + (1 - ``weight``) x ``own`` (indices
        or soft labels), in the canonical label order."""
        probs = self.model(images).float().softmax(1)[:, self.order]
        if own.ndim == 1:
            own = torch.nn.functional.one_hot(own, len(EMOTIONS)).float()
        return weight * probs + (1.0 - weight) * own


def distillation_targets(
    source: str, faces: FaceArrays, own: np.ndarray, weight: float, cache: Path, device: torch.device | str = "cpu"
) -> np.ndarray:
    """Soft targets ``(N, 7)`` mixing the teacher's probabilities with ``own`` (label indices or
    soft labels). The teacher's probabilities are read from / written to ``cache`` (``.npz``, kept
    with the teacher's name and reused only for the same teacher and faces)."""
    if not 0.0 < weight <= 1.0:
        raise ValueError(f"teacher_weight must be in (0, 1], got {weight}")
    cached = np.load(cache) if cache.exists() else None
    if cached is not None and str(cached["source"]) == source and np.array_equal(cached["index"], faces.index):
        probs = cached["probs"]
    else:
        t0 = time.perf_counter()
        probs = teacher_probs(source, faces, device).astype(np.float32)
        partial = cache.with_name(cache.name + ".partial.npz")
        np.savez(partial, probs=probs, source=source, index=faces.index)
        partial.replace(cache)
        print(f"teacher {source}: read {len(faces)} training faces in {time.perf_counter() - t0:.0f} s "
              f"(agrees with the labels on {(probs.argmax(1) == faces.labels).mean():.1%})")
    return weight * probs + (1.0 - weight) * one_hot(own)
