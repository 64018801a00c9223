"""Shared fixtures: example photos, a saved compact model (random weights) and a predictor on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from fer_space.models import create_model

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def examples() -> Path:
    return EXAMPLES


@pytest.fixture(scope="session")
def compact_dir(tmp_path_factory) -> Path:
    """A compact_cnn checkpoint folder with seeded random weights (tests only)."""
    torch.manual_seed(0)
    model = create_model("compact_cnn")
    path = tmp_path_factory.mktemp("models") / "compact"
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def predictor(compact_dir):
    from fer_space import Predictor

    return Predictor.from_pretrained(str(compact_dir), device="cpu")


@pytest.fixture()
def noise_image() -> np.ndarray:
    """A 200x300 image with no face in it."""
    return np.random.default_rng(0).integers(0, 255, (200, 300, 3), dtype=np.uint8)
