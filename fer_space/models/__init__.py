"""The model registry: every architecture and named preset, and loading any checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import hf_hub_download

from .base import CONFIG_NAME, FERClassifier, read_config
from .baselines import ResNetClassifier, SwinClassifier
from .compact import CompactCNN
from .ensemble import Ensemble
from .swin_se_resnet import SwinSEResNet

ARCHITECTURES: dict[str, type[FERClassifier]] = {
    cls.architecture: cls for cls in (SwinSEResNet, SwinClassifier, ResNetClassifier, CompactCNN, Ensemble)
}

# Named presets: registry name -> (architecture, constructor arguments).
# The seed's CPU-scale reproduction: 48 px grey faces, small Swin and ResNet of matching widths.
_NANO_INPUT = {"img_size": 48, "in_chans": 1, "mean": (0.5,), "std": (0.25,)}
_NANO_SWIN = {"swin": {"embed_dim": 32, "depths": [2, 2, 2], "num_heads": [2, 4, 8], "patch_size": 2,
                       "window_size": 6}}
_NANO_RESNET = {"resnet": {"block": "basic", "layers": [1, 1, 1, 1], "channels": [32, 64, 128, 256], "stem_width": 32}}

# The CPU-scale flagship: the same classes at 48 px grey, sized for accuracy per CPU-hour. The ResNet
# branch is a ResNet-18 (basic blocks 2-2-2-2, 64-512 channels) whose stem keeps 24x24 of a 48 px face;
# the Swin branch starts with a conv stem (two stride-2 3x3 convs: 12x12 tokens, 6x6 windows) and keeps
# its depth at the finest stages; with the linear patch embedding it stayed at the majority class.
_SMALL_SWIN = {"swin": {"embed_dim": 64, "depths": [4, 4, 2], "num_heads": [2, 4, 8], "patch_size": 4,
                        "window_size": 6, "stem": "conv"}}
_SMALL_RESNET = {"resnet": {"block": "basic", "layers": [2, 2, 2, 2], "channels": [64, 128, 256, 512],
                            "stem_width": 64, "stem_stride": 2}}

PRESETS: dict[str, tuple[str, dict[str, Any]]] = {
    "swin_se_resnet": ("swin_se_resnet", {}),
    "swin_t": ("swin", {}),
    "resnet50": ("resnet", {}),
    "compact_cnn": ("compact_cnn", {}),
    "swin_se_resnet_small": ("swin_se_resnet", {**_NANO_INPUT, **_SMALL_SWIN, **_SMALL_RESNET}),
    "swin_small": ("swin", {**_NANO_INPUT, **_SMALL_SWIN}),
    "resnet_small": ("resnet", {**_NANO_INPUT, **_SMALL_RESNET}),
    "swin_se_resnet_nano": ("swin_se_resnet", {**_NANO_INPUT, **_NANO_SWIN, **_NANO_RESNET}),
    "swin_nano": ("swin", {**_NANO_INPUT, **_NANO_SWIN}),
    "resnet_nano": ("resnet", {**_NANO_INPUT, **_NANO_RESNET}),
}


def list_models() -> list[str]:
    """Names ``create_model`` accepts."""
    return sorted(PRESETS)


def create_model(name: str, **config: Any) -> FERClassifier:
    """Build a fresh model by preset name; ``config`` overrides the preset's arguments."""
    if name not in PRESETS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    architecture, preset = PRESETS[name]
    return ARCHITECTURES[architecture](**{**preset, **config})


def architecture_of(config: dict[str, Any], where: str) -> type[FERClassifier]:
    """The class a ``config.json`` names, or a clear error."""
    name = config.get("architecture")
    if name not in ARCHITECTURES:
        raise ValueError(
            f"{where}: config.json names architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        )
    return ARCHITECTURES[name]


def load_model(
    source: str | Path, *, revision: str | None = None, device: str = "cpu", **hub_kwargs: Any
) -> FERClassifier:
    """Load a checkpoint from a local folder or a Hub repo id (at ``revision``), strictly."""
    source = str(source)
    if Path(source).is_dir():
        config_path = Path(source) / CONFIG_NAME
        if not config_path.is_file():
            raise FileNotFoundError(f"{source} has no {CONFIG_NAME}")
    else:
        config_path = hf_hub_download(source, CONFIG_NAME, revision=revision, **hub_kwargs)
    cls = architecture_of(read_config(config_path), source)
    return cls.from_pretrained(source, revision=revision, map_location=device, **hub_kwargs)


__all__ = ["ARCHITECTURES", "PRESETS", "Ensemble", "FERClassifier", "create_model", "list_models", "load_model"]
