"""Training curves and confusion-matrix pictures (matplotlib, no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def plot_curves(history: list[dict], path: str | Path) -> None:
    """Loss and accuracy per epoch (train and validation)."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], label="train loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.legend()
    ax_acc.plot(epochs, [h["train_accuracy"] for h in history], label="train accuracy")
    ax_acc.plot(epochs, [h["val_accuracy"] for h in history], label="validation accuracy")
    ax_acc.plot(epochs, [h["val_f1_macro"] for h in history], label="validation macro F1", linestyle="--")
    ax_acc.set_xlabel("epoch")
    ax_acc.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_confusion(confusion: Sequence[Sequence[int]], labels: Sequence[str], path: str | Path, title: str) -> None:
    """Row-normalised confusion matrix with the percentages written in the cells."""
    cm = np.asarray(confusion, dtype=float)
    norm = cm / cm.sum(axis=1, keepdims=True).clip(min=1)
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=10)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{norm[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_member_curves(histories: dict[str, list[dict]], path: str | Path) -> None:
    """Validation accuracy per epoch of each member of an ensemble."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    for name, history in histories.items():
        ax.plot([h["epoch"] for h in history], [h["val_accuracy"] for h in history], label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_reliability(before: np.ndarray, after: np.ndarray, labels: np.ndarray, path: str | Path, bins: int) -> None:
    """Reliability diagram: accuracy against confidence per bin, before and after calibration."""
    from .metrics import confidence_bins

    fig, ax = plt.subplots(figsize=(4.5, 4.2))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfectly calibrated")
    for probs, name in ((before, "before"), (after, "after (temperature)")):
        confidence, right, which = confidence_bins(probs, labels, bins)
        used = [b for b in range(bins) if (which == b).sum() >= 5]
        ax.plot([confidence[which == b].mean() for b in used], [right[which == b].mean() for b in used],
                marker="o", label=name)
    ax.set_xlabel("confidence (top probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
