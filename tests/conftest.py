"""Shared fixtures: example photos, a saved compact model (random weights) and a predictor on it."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# huggingface_hub reads these once, at import: point it at the local Hub server before anything
# imports it, keep its cache and token out of the user's home, and use the plain LFS upload path.
HUB_PORT = _free_port()
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{HUB_PORT}"
os.environ["HF_HUB_DISABLE_XET"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="fer-test-hf-home-")
os.environ["FER_CACHE"] = tempfile.mkdtemp(prefix="fer-test-cache-")
os.environ.pop("FER_MODEL_REPO", None)
os.environ.pop("FER_MODEL_REVISION", None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from fer_space.models import create_model  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


@pytest.fixture(scope="session")
def hub():
    """The local Hub server at ``HF_ENDPOINT``."""
    from .hub_server import HubServer

    server = HubServer(port=HUB_PORT).start()
    yield server
    server.stop()


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
