"""The shipped models: load offline, say what they are, and the default reads obvious expressions right."""

import json

import pytest

from fer_space import Predictor
from fer_space.app.catalog import DEFAULT_NAME, default_entries
from fer_space.errors import ModelLoadError
from fer_space.sources import DEFAULT_DIR, DISPLAY_NAMES, EMBEDDED, embedded_dir, embedded_models

needs_default = pytest.mark.skipif(not (DEFAULT_DIR / "model.safetensors").exists(), reason="no embedded model")
ZOO = [s for s in embedded_models() if s != EMBEDDED]


@pytest.fixture(scope="module")
def default():
    return Predictor.from_pretrained(device="cpu")


@needs_default
def test_default_is_the_embedded_model_with_its_evaluation(default):
    assert default.source.kind == "embedded"
    metrics = json.loads((DEFAULT_DIR / "metrics.json").read_text())
    assert metrics["split"] == "PublicTest" and metrics["n"] == 3589 and metrics["tta_flip"] is False
    assert default.source.metrics["accuracy"] == metrics["accuracy"]
    assert (DEFAULT_DIR / "model.safetensors").stat().st_size < 20 * 2**20
    card = (DEFAULT_DIR / "README.md").read_text()
    assert "model-index" in card and f"{metrics['accuracy']:.4f}" in card


@needs_default
@pytest.mark.parametrize("photo, expected", [
    ("max_happy-baby.jpeg", {"happy"}),
    ("skimage_astronaut.png", {"happy"}),
    ("max_sad-baby.jpeg", {"sad"}),
    ("max_angry.jpg", {"angry", "disgust"}),  # a grimace: the licence table calls it angry/disgust
])
def test_obvious_expressions(default, examples, photo, expected):
    faces = default.predict(examples / photo)
    assert len(faces) == 1 and faces[0].label in expected, (photo, faces[0].probabilities)


@pytest.mark.parametrize("source", ZOO)
def test_shipped_zoo_models_load_with_their_evaluation(source, examples):
    folder = embedded_dir(source)
    predictor = Predictor.from_pretrained(source, device="cpu")
    assert predictor.source.kind == "embedded" and predictor.source.location == source
    assert source.partition(":")[2] in predictor.source.describe()
    metrics = json.loads((folder / "metrics.json").read_text())
    assert metrics["split"] == "PublicTest" and metrics["n"] == 3589 and metrics["tta_flip"] is False
    assert predictor.source.metrics["accuracy"] == metrics["accuracy"]
    assert (folder / "model.safetensors").stat().st_size < 20 * 2**20
    assert f"{metrics['accuracy']:.4f}" in (folder / "README.md").read_text()
    faces = predictor.predict(examples / "skimage_astronaut.png")
    assert len(faces) == 1 and abs(sum(faces[0].probabilities.values()) - 1) < 1e-4


def test_the_catalog_offers_the_listed_shipped_models_in_order_and_refuses_unknown_names():
    offered = [(e.name, e.source) for e in default_entries() if e.embedded]
    assert offered[0] == (DEFAULT_NAME, EMBEDDED)
    assert offered == [(name, s) for s, name in DISPLAY_NAMES.items() if s in embedded_models()]
    assert "embedded:swin_se_resnet_nano" not in dict(offered).values()  # loadable, no longer offered
    with pytest.raises(ModelLoadError, match="no trained model is embedded as 'embedded:nope'"):
        Predictor.from_pretrained("embedded:nope", device="cpu")


@pytest.mark.parametrize("source", embedded_models())
def test_shipped_cards_carry_the_hub_metadata_and_say_what_the_model_is(source):
    from huggingface_hub import ModelCard

    folder = embedded_dir(source)
    card = ModelCard.load(folder / "README.md")
    data = card.data.to_dict()
    assert data["pipeline_tag"] == "image-classification" and data["library_name"] == "fer_space"
    assert data["license"] == "mit" and data["datasets"] == ["fer2013"] and data["tags"]
    assert data["model-index"][0]["results"][0]["dataset"]["split"] == "PublicTest"
    accuracy = json.loads((folder / "metrics.json").read_text())["accuracy"]
    first_line = card.text.strip().splitlines()[2]
    assert "48 px grey faces" in first_line and f"{accuracy:.2%} accuracy" in first_line
    if source in DISPLAY_NAMES:
        assert card.text.strip().splitlines()[0] == f"# {DISPLAY_NAMES[source]}"
    assert "More Information Needed" not in card.content


def test_a_saved_model_card_says_what_it_is_without_placeholders(tmp_path):
    from fer_space.models import create_model

    create_model("swin_se_resnet_small").save_pretrained(tmp_path)
    card = (tmp_path / "README.md").read_text()
    assert "pipeline_tag: image-classification" in card and "More Information Needed" not in card
    assert "Swin-SE-ResNet" in card and "48 px grey face crops" in card and "Not evaluated yet" in card
