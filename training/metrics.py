"""Classification metrics (accuracy, weighted and macro F1, per class) from a confusion matrix."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]``."""
    cm = np.zeros((num_classes, num_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return cm


def metrics_from_confusion(cm: np.ndarray, labels: Sequence[str]) -> dict:
    """Accuracy, weighted F1 (the seed's F1), macro F1 and per-class precision/recall/F1/support."""
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1).astype(float)
    predicted = cm.sum(axis=0).astype(float)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    denom = precision + recall
    f1 = np.divide(2 * precision * recall, denom, out=np.zeros_like(tp), where=denom > 0)
    n = int(cm.sum())
    present = support > 0
    return {
        "accuracy": float(tp.sum() / n) if n else 0.0,
        "f1_weighted": float((f1 * support).sum() / n) if n else 0.0,
        "f1_macro": float(f1[present].mean()) if present.any() else 0.0,
        "n": n,
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(labels)
        },
    }


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, labels: Sequence[str]) -> dict:
    """All metrics plus the confusion matrix (as nested lists) for true/predicted indices."""
    cm = confusion_matrix(y_true, y_pred, len(labels))
    return {**metrics_from_confusion(cm, labels), "confusion_matrix": cm.tolist()}


def confidence_bins(probs: np.ndarray, labels: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Top probability, whether it was right, and its bin among ``bins`` equal-width confidence bins."""
    confidence, right = probs.max(1), probs.argmax(1) == labels
    edges = np.linspace(0, 1, bins + 1)
    return confidence, right, np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
