"""The shipped default model: loads offline, says what it is, and reads obvious expressions right."""

import json

import pytest

from fer_space import Predictor
from fer_space.sources import EMBEDDED_DIR

pytestmark = pytest.mark.skipif(not (EMBEDDED_DIR / "model.safetensors").exists(), reason="no embedded model")


@pytest.fixture(scope="module")
def default():
    return Predictor.from_pretrained(device="cpu")


def test_default_is_the_embedded_model_with_its_evaluation(default):
    assert default.source.kind == "embedded"
    metrics = json.loads((EMBEDDED_DIR / "metrics.json").read_text())
    assert metrics["split"] == "PublicTest" and metrics["n"] == 3589 and metrics["tta_flip"] is False
    assert default.source.metrics["accuracy"] == metrics["accuracy"]
    assert (EMBEDDED_DIR / "model.safetensors").stat().st_size < 20 * 2**20
    card = (EMBEDDED_DIR / "README.md").read_text()
    assert "model-index" in card and f"{metrics['accuracy']:.4f}" in card


@pytest.mark.parametrize("photo, expected", [
    ("max_happy-baby.jpeg", {"happy"}),
    ("skimage_astronaut.png", {"happy"}),
    ("max_sad-baby.jpeg", {"sad"}),
    ("max_angry.jpg", {"angry", "disgust"}),  # a grimace: the licence table calls it angry/disgust
])
def test_obvious_expressions(default, examples, photo, expected):
    faces = default.predict(examples / photo)
    assert len(faces) == 1 and faces[0].label in expected, (photo, faces[0].probabilities)
