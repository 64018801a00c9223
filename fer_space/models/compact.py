"""The compact CNN: the members of the embedded default ensemble and the real-time webcam model.

FER2013 faces are 48x48 grey, so this net works at 48 px grey and spends no compute on upsampled
pixels. VGG-style stages (two 3x3 conv-BN-ReLU, then 2x2 max pool) halve the map four times
(48 -> 3), then global average pooling, dropout and a linear head.
"""

from __future__ import annotations

from typing import Any

import torch
from timm.layers import ConvNormAct
from torch import nn

from .base import FER48_INPUT, FERClassifier
from .registry import register_architecture, register_model


@register_architecture
class CompactCNN(FERClassifier):
    """VGG-style classifier for small grey faces (~1.2 M params, ~0.1 GMACs at 48 px)."""

    architecture = "compact_cnn"
    human_name = "compact CNN"
    default_input = FER48_INPUT

    def __init__(
        self,
        *,
        widths: tuple[int, ...] | list[int] = (32, 64, 128, 256),
        convs_per_stage: int = 2,
        drop_rate: float = 0.3,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        stages: list[nn.Module] = []
        chans = self.in_chans
        for width in widths:
            convs = [ConvNormAct(chans if i == 0 else width, width, 3) for i in range(convs_per_stage)]
            stages.append(nn.Sequential(*convs, nn.MaxPool2d(2)))
            chans = width
        self.features = nn.Sequential(*stages)
        self.num_features = chans
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(drop_rate), nn.Linear(chans, self.num_classes)
        )

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def gradcam_layers(self) -> dict[str, list[tuple[nn.Module, bool]]]:
        return {"model": [(self.features[-1][-2], False)]}  # the last conv before the last pooling


@register_model
def compact_cnn(**kwargs: Any) -> CompactCNN:
    """The compact CNN, 32-256 channels (widen with ``widths=[64, 128, 256, 512]``)."""
    return CompactCNN(**kwargs)
