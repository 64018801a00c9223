"""The seed's baselines: each branch of the hybrid alone, with its own pooling and a linear head."""

from __future__ import annotations

import torch
from torch import nn

from .backbones import RESNET50, SWIN_T, branch_config, load_imagenet, resnet_backbone, swin_backbone
from .base import IMAGENET_MEAN, IMAGENET_STD, FERClassifier


class SwinClassifier(FERClassifier):
    """Swin Transformer -> global average pooling -> dropout -> Linear (default: Swin-T at 224)."""

    architecture = "swin"
    human_name = "Swin Transformer"

    def __init__(
        self,
        *,
        swin: dict | None = None,
        drop_rate: float = 0.3,
        drop_path_rate: float = 0.1,
        id2label: dict[str, str] | None = None,
        img_size: int = 224,
        in_chans: int = 3,
        mean: tuple[float, ...] | list[float] = IMAGENET_MEAN,
        std: tuple[float, ...] | list[float] = IMAGENET_STD,
        crop_margin: float = 0.15,
    ) -> None:
        super().__init__(
            id2label=id2label, img_size=img_size, in_chans=in_chans, mean=mean, std=std, crop_margin=crop_margin
        )
        swin = branch_config(SWIN_T, swin)
        self.record_config(swin=swin)
        self.swin = swin_backbone(swin, img_size=img_size, in_chans=in_chans, drop_path_rate=drop_path_rate)
        self.head = nn.Sequential(nn.Dropout(drop_rate), nn.Linear(self.swin.num_features, self.num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.swin.forward_head(self.swin.forward_features(x), pre_logits=True))

    def load_imagenet_backbones(self) -> None:
        load_imagenet(self.swin, "swin_tiny_patch4_window7_224")


class ResNetClassifier(FERClassifier):
    """ResNet -> global average pooling -> dropout -> Linear (default: ResNet-50 at 224)."""

    architecture = "resnet"
    human_name = "ResNet"

    def __init__(
        self,
        *,
        resnet: dict | None = None,
        drop_rate: float = 0.3,
        drop_path_rate: float = 0.0,
        id2label: dict[str, str] | None = None,
        img_size: int = 224,
        in_chans: int = 3,
        mean: tuple[float, ...] | list[float] = IMAGENET_MEAN,
        std: tuple[float, ...] | list[float] = IMAGENET_STD,
        crop_margin: float = 0.15,
    ) -> None:
        super().__init__(
            id2label=id2label, img_size=img_size, in_chans=in_chans, mean=mean, std=std, crop_margin=crop_margin
        )
        resnet = branch_config(RESNET50, resnet)
        self.record_config(resnet=resnet)
        self.resnet = resnet_backbone(resnet, in_chans=in_chans, drop_path_rate=drop_path_rate)
        self.head = nn.Sequential(nn.Dropout(drop_rate), nn.Linear(self.resnet.num_features, self.num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.resnet(x))

    def load_imagenet_backbones(self) -> None:
        load_imagenet(self.resnet, "resnet50")
