"""Calibrated confidence and the "unsure" answer.

A model's raw softmax is over-confident or under-confident; one temperature ``T``, fitted on the
validation split (``python -m training.calibrate``), turns its outputs into probabilities that mean
what they say: ``softmax(logits / T)``. A face whose calibrated top probability is below
``unsure_below`` (the point where accuracy among the answered faces reaches the target, also chosen on
the validation split) is reported as unsure, with its two leading expressions. Both numbers live in
the checkpoint's ``config.json`` under ``"calibration"``; a model without them keeps ``T = 1`` and
always answers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .labels import EMOTIONS


@dataclass(frozen=True)
class Calibration:
    """``temperature`` divides the logits; ``unsure_below`` is the calibrated top probability under
    which a face is called unsure (0 = never; 1 = always, for a model that never reaches the target)."""

    temperature: float = 1.0
    unsure_below: float = 0.0

    @classmethod
    def from_dict(cls, values: dict | None) -> Calibration:
        """From a config's ``"calibration"`` object (missing keys keep their defaults)."""
        values = values or {}
        calibration = cls(float(values.get("temperature", 1.0)), float(values.get("unsure_below", 0.0)))
        if not calibration.temperature > 0 or not 0 <= calibration.unsure_below <= 1:
            raise ValueError(f"calibration needs temperature > 0 and 0 <= unsure_below <= 1, got {values}")
        return calibration

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """``softmax(logits / temperature)`` (log-probabilities are valid logits too)."""
        return (logits.float() / self.temperature).softmax(dim=-1)

    def is_unsure(self, probabilities: np.ndarray) -> bool:
        """Whether one face's calibrated top probability is below the threshold."""
        return float(np.max(probabilities)) < self.unsure_below


def caption(probabilities: np.ndarray, unsure: bool) -> str:
    """What to write beside a face: ``happy 87%``, or ``unsure: sad / neutral`` (the two leading
    expressions) when the model is unsure; ``probabilities`` in canonical ``EMOTIONS`` order."""
    first, second = np.argsort(-np.asarray(probabilities))[:2]
    if unsure:
        return f"unsure: {EMOTIONS[first]} / {EMOTIONS[second]}"
    return f"{EMOTIONS[first]} {float(probabilities[first]):.0%}"
