"""Swin-SE-ResNet, the project's namesake hybrid (after a 2025 university course project's slides).

    image ─┬─ Swin-T ─ SE block ─ split (grouped) conv ─ mean pooling ─ flatten ─ f_swin ─┐
           └─ ResNet-50 ─ global average pooling ──────────────────────────────── f_res ─┴─ concat ─ dropout ─ Linear

The slides leave the SE reduction, group count, kernel and pooling size open; the defaults here
(reduction 16, 4 groups, 3x3 kernel, 2x2 average pooling with stride 2) follow Swin-FER and SENet
and are all configuration. The pooled map is flattened rather than averaged away, so ``f_swin``
keeps the coarse layout of the face (7x7 -> 3x3 cells at 224 px).
"""

from __future__ import annotations

from typing import Any

import torch
from timm.layers import ConvNormAct, SEModule
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
    swin_feature_map,
)
from .base import FER48_INPUT, FERClassifier
from .registry import register_architecture, register_model


class SplitConv(nn.Module):
    """Split the channels into ``groups``, convolve each group on its own, concatenate (grouped conv + BN + GELU)."""

    def __init__(self, channels: int, groups: int, kernel_size: int) -> None:
        super().__init__()
        if channels % groups:
            raise ValueError(f"{channels} channels do not split into {groups} groups")
        self.conv = ConvNormAct(channels, channels, kernel_size, groups=groups, act_layer=nn.GELU)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


@register_architecture
class SwinSEResNet(FERClassifier):
    """The two-branch hybrid; defaults are the full-size model (Swin-T + ResNet-50 at 224 px).
    ``swin`` / ``resnet`` override keys of ``SWIN_T`` / ``RESNET50`` (see ``backbones``)."""

    architecture = "swin_se_resnet"
    human_name = "Swin-SE-ResNet (Swin + SE + split conv, fused with a ResNet)"

    def __init__(
        self,
        *,
        swin: dict | None = None,
        resnet: dict | None = None,
        se_reduction: int = 16,
        split_groups: int = 4,
        split_kernel: int = 3,
        pool_size: int = 2,
        drop_rate: float = 0.3,
        drop_path_rate: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        swin, resnet = branch_config(SWIN_T, swin), branch_config(RESNET50, resnet)
        self.record_config(swin=swin, resnet=resnet)
        self.swin = swin_backbone(swin, img_size=self.img_size, in_chans=self.in_chans, drop_path_rate=drop_path_rate)
        swin_chans = self.swin.num_features
        self.se = SEModule(swin_chans, rd_ratio=1 / se_reduction)
        self.split_conv = SplitConv(swin_chans, split_groups, split_kernel)
        self.mean_pool = nn.AvgPool2d(pool_size, stride=pool_size)
        self.resnet = resnet_backbone(resnet, in_chans=self.in_chans, drop_path_rate=drop_path_rate)
        grid = self.swin.layers[-1].output_resolution[0] // pool_size
        self.num_features = swin_chans * grid * grid + self.resnet.num_features
        self.head = nn.Sequential(nn.Dropout(drop_rate), nn.Linear(self.num_features, self.num_classes))

    def swin_features(self, x: torch.Tensor) -> torch.Tensor:
        """f_swin: Swin map -> SE -> split conv -> mean pooling -> flatten."""
        return self.mean_pool(self.split_conv(self.se(swin_feature_map(self.swin, x)))).flatten(1)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """[f_swin, f_res]: the two branches' features side by side."""
        return torch.cat([self.swin_features(x), self.resnet(x)], dim=1)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)

    def gradcam_layers(self) -> dict[str, list[tuple[nn.Module, bool]]]:
        """One map per branch: what the Swin branch and what the ResNet branch look at."""
        return {"Swin branch": [(self.split_conv, False)], "ResNet branch": [(self.resnet.layer4, False)]}

    def load_imagenet_backbones(self) -> None:
        """Start both branches from timm's ImageNet weights (full-size shapes only; needs the Hub)."""
        load_imagenet(self.swin, "swin_tiny_patch4_window7_224")
        load_imagenet(self.resnet, "resnet50")


@register_model
def swin_se_resnet(**kwargs: Any) -> SwinSEResNet:
    """The full-size hybrid: Swin-T + ResNet-50 at 224 px RGB (ImageNet weights on request)."""
    return SwinSEResNet(**kwargs)


@register_model
def swin_se_resnet_small(**kwargs: Any) -> SwinSEResNet:
    """The CPU-scale flagship at 48 px grey: a small conv-stem Swin and a ResNet-18."""
    return SwinSEResNet(**{**FER48_INPUT, "swin": SWIN_SMALL, "resnet": RESNET_SMALL, **kwargs})


@register_model
def swin_se_resnet_nano(**kwargs: Any) -> SwinSEResNet:
    return SwinSEResNet(**{**FER48_INPUT, "swin": SWIN_NANO, "resnet": RESNET_NANO, **kwargs})
