"""timm backbones shared by the hybrid and its baselines, built without downloading weights."""

from __future__ import annotations

import itertools
import math

import timm
import torch
from timm.layers import ConvNormAct, PatchEmbed
from timm.models.resnet import BasicBlock, Bottleneck, ResNet
from timm.models.swin_transformer import SwinTransformer
from torch import nn

BLOCKS = {"basic": BasicBlock, "bottleneck": Bottleneck}

# Branch shapes. The defaults are the standard shapes that have ImageNet weights in timm; a model's
# ``swin``/``resnet`` config overrides any of these keys.
# ``stem``: "patch" is Swin's linear patch embedding (one patch_size x patch_size conv, the shape of the
# ImageNet weights); "conv" replaces it with stride-2 3x3 convolutions ("early convolutions", Xiao et
# al. 2021), which a Swin trained from scratch on small data needs to leave the majority class early.
SWIN_T = {"embed_dim": 96, "depths": [2, 2, 6, 2], "num_heads": [3, 6, 12, 24], "patch_size": 4, "window_size": 7,
          "stem": "patch"}
SWIN_STEMS = ("patch", "conv")
# ``stem_stride``: 4 is timm's stem (7x7 conv stride 2 + max pool); 2 drops the max pool and 1 also
# the conv's stride, for small inputs such as 48 px faces.
RESNET50 = {"block": "bottleneck", "layers": [3, 4, 6, 3], "channels": [64, 128, 256, 512], "stem_width": 64,
            "stem_stride": 4}
STEM_STRIDES = (1, 2, 4)

# The CPU-scale branches at 48 px. Small (the flagship): a ResNet-18 (basic blocks 2-2-2-2, 64-512
# channels) whose stem keeps 24x24 of a 48 px face, and a Swin with a conv stem (two stride-2 3x3 convs:
# 12x12 tokens, 6x6 windows) that keeps its depth at the finest stages; with the linear patch embedding
# it stayed at the majority class. Nano: the seed's comparison at its smallest.
SWIN_SMALL = {"embed_dim": 64, "depths": [4, 4, 2], "num_heads": [2, 4, 8], "patch_size": 4, "window_size": 6,
              "stem": "conv"}
RESNET_SMALL = {"block": "basic", "layers": [2, 2, 2, 2], "channels": [64, 128, 256, 512], "stem_width": 64,
                "stem_stride": 2}
SWIN_NANO = {"embed_dim": 32, "depths": [2, 2, 2], "num_heads": [2, 4, 8], "patch_size": 2, "window_size": 6}
RESNET_NANO = {"block": "basic", "layers": [1, 1, 1, 1], "channels": [32, 64, 128, 256], "stem_width": 32}


def branch_config(defaults: dict, overrides: dict | None) -> dict:
    """The defaults updated with ``overrides``; unknown keys are an error."""
    unknown = set(overrides or {}) - set(defaults)
    if unknown:
        raise ValueError(f"unknown branch settings {sorted(unknown)}; known: {sorted(defaults)}")
    return {**defaults, **(overrides or {})}


class ConvPatchEmbed(PatchEmbed):
    """timm's patch embedding with a convolutional stem: log2(patch_size) stride-2 3x3 ConvNormAct layers
    (half the width, then the full width) and a 1x1 projection, the same grid as the linear one."""

    def __init__(self, *, patch_size: int, in_chans: int, embed_dim: int, **kwargs) -> None:
        super().__init__(patch_size=patch_size, in_chans=in_chans, embed_dim=embed_dim, **kwargs)
        steps = math.log2(patch_size)
        if patch_size < 2 or not steps.is_integer():
            raise ValueError(f"a conv stem needs a patch_size that is a power of 2, got {patch_size}")
        widths = [in_chans] + [embed_dim // 2] * (int(steps) - 1) + [embed_dim]
        self.proj = nn.Sequential(
            *(ConvNormAct(a, b, 3, stride=2, act_layer=nn.GELU) for a, b in itertools.pairwise(widths)),
            nn.Conv2d(embed_dim, embed_dim, 1),
        )


def swin_backbone(swin: dict, *, img_size: int, in_chans: int, drop_path_rate: float) -> SwinTransformer:
    """A timm Swin Transformer without head (``swin``: SWIN_T keys); ``forward_features`` gives NHWC."""
    if swin["stem"] not in SWIN_STEMS:
        raise ValueError(f"swin stem must be one of {SWIN_STEMS}, got {swin['stem']!r}")
    return SwinTransformer(
        img_size=img_size, patch_size=swin["patch_size"], in_chans=in_chans, num_classes=0,
        embed_dim=swin["embed_dim"], depths=tuple(swin["depths"]), num_heads=tuple(swin["num_heads"]),
        window_size=swin["window_size"], drop_path_rate=drop_path_rate,
        embed_layer=ConvPatchEmbed if swin["stem"] == "conv" else PatchEmbed,
    )


def resnet_backbone(resnet: dict, *, in_chans: int, drop_path_rate: float) -> ResNet:
    """A timm ResNet without head (``resnet``: RESNET50 keys); ``forward`` gives pooled features."""
    if resnet["block"] not in BLOCKS:
        raise ValueError(f"resnet block must be one of {sorted(BLOCKS)}, got {resnet['block']!r}")
    if resnet["stem_stride"] not in STEM_STRIDES:
        raise ValueError(f"resnet stem_stride must be one of {STEM_STRIDES}, got {resnet['stem_stride']!r}")
    net = ResNet(
        block=BLOCKS[resnet["block"]], layers=tuple(resnet["layers"]), channels=tuple(resnet["channels"]),
        in_chans=in_chans, num_classes=0, stem_width=resnet["stem_width"], drop_path_rate=drop_path_rate,
    )
    if resnet["stem_stride"] < 4:
        net.maxpool = nn.Identity()
    if resnet["stem_stride"] == 1:
        net.conv1.stride = (1, 1)
    return net


def load_imagenet(branch: nn.Module, timm_name: str) -> None:
    """Copy ImageNet weights of ``timm_name`` (downloaded from the Hub) into a branch of the same shape."""
    source = timm.create_model(timm_name, pretrained=True, num_classes=0)
    state = {k: v for k, v in source.state_dict().items() if not k.startswith(("head.fc", "fc."))}
    missing, unexpected = branch.load_state_dict(state, strict=False)
    if unexpected or [k for k in missing if not k.startswith(("head", "fc"))]:
        raise ValueError(f"{timm_name} weights do not fit this branch: missing {missing}, unexpected {unexpected}")


def swin_feature_map(swin: SwinTransformer, x: torch.Tensor) -> torch.Tensor:
    """Swin's last-stage map as NCHW."""
    return swin.forward_features(x).permute(0, 3, 1, 2)
