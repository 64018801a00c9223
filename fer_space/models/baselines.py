"""The seed's baselines: each branch of the hybrid alone, with its own pooling and a linear head."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .backbones import (
    RESNET50,
    RESNET_NANO,
    RESNET_SMALL,
    SWIN_NANO,
    SWIN_SMALL,
    SWIN_T,
    branch_config,
    load_imagenet,
    resnet_backbone,
    swin_backbone,
)
from .base import FER48_INPUT, FERClassifier
from .registry import register_architecture, register_model


@register_architecture
class SwinClassifier(FERClassifier):
    """Swin Transformer -> global average pooling -> dropout -> Linear (default: Swin-T at 224)."""

    architecture = "swin"
    human_name = "Swin Transformer"

    def __init__(self, *, swin: dict | None = None, drop_rate: float = 0.3, drop_path_rate: float = 0.1,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        swin = branch_config(SWIN_T, swin)
        self.record_config(swin=swin)
        self.swin = swin_backbone(swin, img_size=self.img_size, in_chans=self.in_chans, drop_path_rate=drop_path_rate)
        self.head = nn.Sequential(nn.Dropout(drop_rate), nn.Linear(self.swin.num_features, self.num_classes))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.swin.forward_features(x)  # NHWC

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(self.swin.forward_head(features, pre_logits=True))

    def gradcam_layers(self) -> dict[str, list[tuple[nn.Module, bool]]]:
        return {"model": [(self.swin.layers[-1], True)]}

    def load_imagenet_backbones(self) -> None:
        load_imagenet(self.swin, "swin_tiny_patch4_window7_224")


@register_architecture
class ResNetClassifier(FERClassifier):
    """ResNet -> global average pooling -> dropout -> Linear (default: ResNet-50 at 224)."""

    architecture = "resnet"
    human_name = "ResNet"

    def __init__(self, *, resnet: dict | None = None, drop_rate: float = 0.3, drop_path_rate: float = 0.0,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        resnet = branch_config(RESNET50, resnet)
        self.record_config(resnet=resnet)
        self.resnet = resnet_backbone(resnet, in_chans=self.in_chans, drop_path_rate=drop_path_rate)
        self.head = nn.Sequential(nn.Dropout(drop_rate), nn.Linear(self.resnet.num_features, self.num_classes))

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The ResNet's pooled features (called whole, so the exported graph keeps the names that the
        stored int8 ranges refer to)."""
        return self.resnet(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def gradcam_layers(self) -> dict[str, list[tuple[nn.Module, bool]]]:
        return {"model": [(self.resnet.layer4, False)]}

    def load_imagenet_backbones(self) -> None:
        load_imagenet(self.resnet, "resnet50")


@register_model
def swin_t(**kwargs: Any) -> SwinClassifier:
    """The seed's SwinT baseline: Swin-T at 224 px RGB (ImageNet weights on request)."""
    return SwinClassifier(**kwargs)


@register_model
def resnet50(**kwargs: Any) -> ResNetClassifier:
    """The seed's ResNet50 baseline at 224 px RGB (ImageNet weights on request)."""
    return ResNetClassifier(**kwargs)


@register_model
def swin_small(**kwargs: Any) -> SwinClassifier:
    """The small hybrid's Swin branch alone, 48 px grey."""
    return SwinClassifier(**{**FER48_INPUT, "swin": SWIN_SMALL, **kwargs})


@register_model
def resnet_small(**kwargs: Any) -> ResNetClassifier:
    """The small hybrid's ResNet branch alone (a ResNet-18), 48 px grey."""
    return ResNetClassifier(**{**FER48_INPUT, "resnet": RESNET_SMALL, **kwargs})


@register_model
def swin_nano(**kwargs: Any) -> SwinClassifier:
    return SwinClassifier(**{**FER48_INPUT, "swin": SWIN_NANO, **kwargs})


@register_model
def resnet_nano(**kwargs: Any) -> ResNetClassifier:
    return ResNetClassifier(**{**FER48_INPUT, "resnet": RESNET_NANO, **kwargs})
