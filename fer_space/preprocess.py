"""A model's own input transform: face crop (uint8 array or PIL) -> normalised tensor.

Everything the transform needs (input size, grey or RGB, mean/std) is in the model's config, so
the predictor, the evaluation and the training data all take the same road.
"""

from __future__ import annotations

import torch
from torchvision.transforms import v2

from .models.base import FERClassifier


def channel_transform(in_chans: int) -> v2.Transform:
    """Grey (1 channel) or RGB (3 channels), whatever the crop has."""
    return v2.Grayscale(num_output_channels=1) if in_chans == 1 else v2.RGB()


def tensor_tail(model: FERClassifier) -> list[v2.Transform]:
    """Resize to the model's size, scale to [0, 1] floats and normalise."""
    size = (model.img_size, model.img_size)
    return [
        v2.Resize(size, antialias=True),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(mean=list(model.mean), std=list(model.std)),
    ]


def eval_transform(model: FERClassifier) -> v2.Compose:
    """HWC/HW uint8 array, PIL image or CHW uint8 tensor -> CHW float tensor for ``model``."""
    return v2.Compose([v2.ToImage(), channel_transform(model.in_chans), *tensor_tail(model)])
