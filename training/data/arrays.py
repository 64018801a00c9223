"""In-memory face data sets: uint8 images + canonical labels, and the torch Dataset over them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset


@dataclass
class FaceArrays:
    """Faces of one data set: ``images`` ``(N, H, W)`` grey or ``(N, H, W, 3)`` RGB uint8,
    ``labels`` canonical indices ``(N,)``, the split of each face and its row in the source."""

    images: np.ndarray
    labels: np.ndarray
    splits: np.ndarray
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)

    def select(self, mask_or_indices: np.ndarray) -> FaceArrays:
        """A subset, keeping the alignment of every field."""
        return FaceArrays(
            images=self.images[mask_or_indices],
            labels=self.labels[mask_or_indices],
            splits=self.splits[mask_or_indices],
            index=self.index[mask_or_indices],
        )

    def split(self, name: str) -> FaceArrays:
        """The faces of one split, or a clear error naming the splits there are."""
        mask = self.splits == name
        if not mask.any():
            raise ValueError(f"no faces in split {name!r}; splits here: {sorted(set(self.splits.tolist()))}")
        return self.select(mask)

    def class_counts(self, num_classes: int) -> np.ndarray:
        return np.bincount(self.labels, minlength=num_classes)


class FaceDataset(Dataset):
    """``(transform(image), target)`` pairs; ``targets`` may be class indices or soft labels."""

    def __init__(self, images: np.ndarray, targets: np.ndarray, transform: Callable) -> None:
        if len(images) != len(targets):
            raise ValueError(f"{len(images)} images but {len(targets)} targets")
        self.images = images
        self.targets = torch.as_tensor(targets)
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.transform(self.images[i]), self.targets[i]
