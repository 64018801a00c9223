"""The compact CNN: the embedded default and the real-time webcam model.

FER2013 faces are 48x48 grey, so this net works at 48 px grey and spends no compute on upsampled
pixels. VGG-style stages (two 3x3 conv-BN-ReLU, then 2x2 max pool) halve the map four times
(48 -> 3), then global average pooling, dropout and a linear head.
"""

from __future__ import annotations

import torch
from timm.layers import ConvNormAct
from torch import nn

from .base import FERClassifier


class CompactCNN(FERClassifier):
    """VGG-style classifier for small grey faces (~1.2 M params, ~0.1 GMACs at 48 px)."""

    architecture = "compact_cnn"
    human_name = "compact CNN"

    def __init__(
        self,
        *,
        widths: tuple[int, ...] | list[int] = (32, 64, 128, 256),
        convs_per_stage: int = 2,
        drop_rate: float = 0.3,
        id2label: dict[str, str] | None = None,
        img_size: int = 48,
        in_chans: int = 1,
        mean: tuple[float, ...] | list[float] = (0.5,),
        std: tuple[float, ...] | list[float] = (0.25,),
        crop_margin: float = 0.15,
    ) -> None:
        super().__init__(
            id2label=id2label, img_size=img_size, in_chans=in_chans, mean=mean, std=std, crop_margin=crop_margin
        )
        stages: list[nn.Module] = []
        chans = in_chans
        for width in widths:
            convs = [ConvNormAct(chans if i == 0 else width, width, 3) for i in range(convs_per_stage)]
            stages.append(nn.Sequential(*convs, nn.MaxPool2d(2)))
            chans = width
        self.features = nn.Sequential(*stages)
        self.num_features = chans
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(drop_rate), nn.Linear(chans, self.num_classes)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
