"""The model registry: every architecture and named preset, and loading any checkpoint.

Each model file holds one architecture, its presets (``@register_model``) and its preprocessing facts
(``default_input``); importing the files below registers them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from huggingface_hub import hf_hub_download

from .base import FERClassifier
from .baselines import ResNetClassifier, SwinClassifier
from .compact import CompactCNN
from .ensemble import Ensemble
from .registry import ARCHITECTURES, PRESETS, architecture_of, create_model, list_models
from .storage import CONFIG_NAME, read_config
from .swin_se_resnet import SwinSEResNet


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


__all__ = [
    "ARCHITECTURES",
    "PRESETS",
    "CompactCNN",
    "Ensemble",
    "FERClassifier",
    "ResNetClassifier",
    "SwinClassifier",
    "SwinSEResNet",
    "create_model",
    "list_models",
    "load_model",
]
