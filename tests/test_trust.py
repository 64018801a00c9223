"""Output a user can trust: calibrated confidence, the "unsure" answer, face-quality warnings and
Grad-CAM explanations, on real photos with the shipped models."""

import json

import cv2
import numpy as np
import pytest
import torch

from fer_space import Predictor
from fer_space.confidence import Calibration, caption
from fer_space.faces import Face
from fer_space.images import load_image
from fer_space.labels import EMOTIONS
from fer_space.models import create_model, load_model
from fer_space.quality import THRESHOLDS, measure, warnings, yaw_degrees
from fer_space.render import NEUTRAL_BOX, annotate
from fer_space.report import face_record
from fer_space.sources import embedded_dir, embedded_models
from training.calibrate import (
    calibrate_folder,
    choose_temperature,
    expected_calibration_error,
    fit_temperature,
    negative_log_likelihood,
)

from .test_training import make_fer_csv, tiny_config

ONE_FACE = ["skimage_astronaut.png", "max_happy-baby.jpeg", "max_surprised.jpeg", "max_neutral.jpeg",
            "max_angry.jpg"]


@pytest.fixture(scope="module")
def fer_csv(tmp_path_factory):
    return make_fer_csv(tmp_path_factory.mktemp("data") / "fer2013.csv.gz")


@pytest.fixture(scope="module")
def compact():
    return Predictor.from_pretrained("embedded:compact_cnn", device="cpu")


def test_temperature_fit_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(4000, 7))
    true_t = 2.5  # labels drawn from softmax(logits / 2.5): the raw logits are over-confident
    p = torch.as_tensor(logits / true_t).softmax(1).numpy()
    labels = np.array([rng.choice(7, p=row) for row in p])
    fitted = fit_temperature(logits, labels)
    assert fitted == pytest.approx(true_t, rel=0.1)
    raw = torch.as_tensor(logits).softmax(1).numpy()
    assert expected_calibration_error(p, labels) < expected_calibration_error(raw, labels) / 3


@pytest.mark.parametrize("seed", range(6))
def test_the_chosen_temperature_never_raises_the_ece_or_the_nll(seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2, size=(600, 7))
    # Labels from a distorted softmax: no single temperature fits them, so the NLL optimum and the
    # ECE optimum disagree for some seeds.
    p = torch.as_tensor(np.sign(logits) * np.abs(logits) ** 1.5 / 2).softmax(1).numpy()
    labels = np.array([rng.choice(7, p=row) for row in p])
    t = choose_temperature(logits, labels)
    raw, calibrated = (torch.as_tensor(logits / s).softmax(1).numpy() for s in (1.0, t))
    assert expected_calibration_error(calibrated, labels) <= expected_calibration_error(raw, labels)
    assert negative_log_likelihood(calibrated, labels) <= negative_log_likelihood(raw, labels) + 1e-12


def test_calibration_is_stored_loaded_and_applied(compact, examples, tmp_path):
    model = load_model(embedded_dir("embedded:compact_cnn"))
    model.calibration = Calibration(temperature=3.0, unsure_below=0.99)
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["calibration"] == {"temperature": 3.0,
                                                                                 "unsure_below": 0.99}
    softened = Predictor.from_pretrained(str(tmp_path), device="cpu")
    assert softened.model.calibration == Calibration(3.0, 0.99)
    rgb = load_image(examples / "skimage_astronaut.png")
    plain_face = compact.predict(rgb)[0]
    face = softened.predict(rgb)[0]
    assert face.label == plain_face.label and face.confidence < plain_face.confidence  # T > 1 softens
    assert face.unsure and face.caption.startswith("unsure: ") and face.caption.count(" / ") == 1
    assert face_record(face)["unsure"] is True and face.caption.split()[1] == face.label
    box = [round(v) for v in face.box]
    assert tuple(annotate(rgb, [face])[box[1], box[0] + 3]) == NEUTRAL_BOX  # an unsure face is boxed white


def test_caption_names_the_two_leading_expressions():
    probs = np.array([0.05, 0.0, 0.05, 0.1, 0.35, 0.45, 0.0])
    assert caption(probs, unsure=True) == f"unsure: {EMOTIONS[5]} / {EMOTIONS[4]}"
    assert caption(probs, unsure=False) == f"{EMOTIONS[5]} 45%"


@pytest.mark.parametrize("source", embedded_models())
def test_every_shipped_model_is_calibrated_and_better_for_it(source):
    folder = embedded_dir(source)
    config = json.loads((folder / "config.json").read_text())
    c = json.loads((folder / "metrics.json").read_text())["calibration"]
    assert Calibration.from_dict(config["calibration"]) == Calibration(c["temperature"], c["unsure_below"])
    assert c["nll_after"] <= c["nll_before"] and c["ece_after"] < c["ece_before"]
    assert c["answered_accuracy"] >= c["target_accuracy"] and 0 < c["coverage"] <= 1
    assert (folder / "reliability.png").is_file() and "## Calibration" in (folder / "README.md").read_text()


def test_calibrating_a_trained_run_writes_config_metrics_diagram_and_card(fer_csv, tmp_path):
    from training.card import write_card
    from training.train import train

    run = tmp_path / "run"
    train(tiny_config(fer_csv, run, epochs=1))
    write_card(run)
    result = calibrate_folder(run / "best", str(fer_csv))
    assert result["temperature"] > 0 and result["n"] == 21
    assert load_model(run / "best").calibration.temperature == pytest.approx(result["temperature"])
    assert (run / "best" / "reliability.png").is_file()
    assert f"T = {result['temperature']:.3f}" in (run / "best" / "README.md").read_text()


def test_quality_warnings_on_real_photos(compact, examples):
    rgb = load_image(examples / "skimage_astronaut.png")
    face = compact.predict(rgb)[0]
    assert face.warnings == [] and face.quality["face_px"] > 60 and abs(face.quality["yaw_deg"]) < 20
    blurred = compact.predict(cv2.GaussianBlur(rgb, (0, 0), 4))
    assert blurred and any("blurred" in w for w in blurred[0].warnings)
    dark = compact.predict((rgb * 0.15).astype(np.uint8))
    assert dark and any("dark" in w for w in dark[0].warnings)
    small = compact.predict(cv2.resize(rgb, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA))  # a 25 px face
    assert small and small[0].quality["face_px"] < THRESHOLDS.min_face_px
    assert any(w.startswith(f"face is small ({small[0].quality['face_px']:.0f} px)") for w in small[0].warnings)
    assert face_record(face)["quality"]["sharpness"] > blurred[0].quality["sharpness"]


def test_head_turn_from_landmarks_is_measured():
    eyes = [[40.0, 50.0], [80.0, 50.0]]
    frontal = np.array([*eyes, [60.0, 70.0], [45.0, 90.0], [75.0, 90.0]])
    turned = np.array([*eyes, [78.0, 70.0], [60.0, 90.0], [85.0, 90.0]])
    assert abs(yaw_degrees(frontal)) < 1 and yaw_degrees(turned) > 50 and yaw_degrees(turned[[1, 0, 2]]) < -50
    values = measure(Face((40, 30, 100, 110), 0.99, turned), np.full((92, 92, 3), 128, np.uint8), margin=0.15)
    assert values["yaw_deg"] > 50 and values["face_px"] == 60
    assert warnings(values) == ["face is blurred: expression may be misread"]  # a flat grey face, not turned
    assert "face is over- or underexposed (50% of it clipped): expression may be misread" in warnings(
        {**values, "clipped": 0.5})


def _peaks_inside_the_face(heat: np.ndarray, margin: float) -> bool:
    """The map's maximum lies inside the face box part of the crop (the crop adds ``margin`` each side)."""
    inner = margin / (1 + 2 * margin)
    y, x = np.unravel_index(heat.argmax(), heat.shape)
    side = heat.shape[0]
    return inner * side <= x <= (1 - inner) * side and inner * side <= y <= (1 - inner) * side


@pytest.mark.parametrize("source", embedded_models())
def test_heat_maps_for_every_shipped_architecture_and_the_accurate_ones_peak_inside_the_face(source, examples):
    predictor = Predictor.from_pretrained(source, device="cpu")
    names = {"swin_se_resnet": ["Swin branch", "ResNet branch"]}.get(predictor.model.architecture, ["model"])
    inside = total = 0
    for photo in ONE_FACE:
        prediction = predictor.predict_timed(examples / photo)
        maps = predictor.explain(prediction.crops)
        assert len(maps) == len(prediction.faces) == 1 and list(maps[0]) == names
        for heat in maps[0].values():
            assert heat.shape == (predictor.model.img_size,) * 2 and heat.min() >= 0 and heat.max() == 1
            inside += _peaks_inside_the_face(heat, predictor.model.crop_margin)
            total += 1
    if predictor.source.metrics["accuracy"] > 0.65:  # the FER ensemble and the Compact CNN: on every photo
        assert inside == total
    # The weaker models (29-54% accurate) peak inside the face on 3 to 8 of their maps (README).


def test_explaining_a_random_hybrid_gives_one_map_per_branch():
    torch.manual_seed(0)
    model = create_model("swin_se_resnet_small")
    predictor = Predictor(model, device="cpu", backend="torch")
    maps = predictor.explain([np.full((64, 64, 3), 120, np.uint8), np.full((80, 80, 3), 60, np.uint8)])
    assert [list(m) for m in maps] == [["Swin branch", "ResNet branch"]] * 2
