"""int8 inference on ONNX Runtime: ranges measured by ``training.quantize``, stored in config.json,
rebuilt and checked at load, with a float32 fallback; on real shipped models and real photos."""

import json
import logging
import shutil

import numpy as np
import pytest

from fer_space import Predictor
from fer_space.models import load_model
from fer_space.sources import DISPLAY_NAMES, embedded_dir, embedded_models
from training.quantize import main as quantize_main

from .test_training import make_fer_csv

PHOTO = "max_happy-baby.jpeg"


@pytest.fixture(scope="module")
def fer_csv(tmp_path_factory):
    return make_fer_csv(tmp_path_factory.mktemp("data") / "fer2013.csv.gz")


@pytest.fixture(scope="module")
def quantized(tmp_path_factory, fer_csv):
    """The shipped Compact CNN with ranges measured afresh on a small FER2013-format file."""
    folder = tmp_path_factory.mktemp("int8") / "compact"
    shutil.copytree(embedded_dir("embedded:compact_cnn"), folder)
    assert quantize_main(["--model", str(folder), "--data", str(fer_csv), "--faces", "40", "--write"]) == 0
    return folder


def test_quantize_stores_ranges_and_scores(quantized):
    config = json.loads((quantized / "config.json").read_text())["int8"]
    assert config["faces"] == 40 and config["method"] == "minmax"
    assert len(config["ranges"]) > 10 and all(low <= high for low, high in config["ranges"].values())
    assert np.allclose(np.sum(config["check"], axis=1), 1, atol=1e-3)
    scores = json.loads((quantized / "metrics.json").read_text())["int8"]
    assert scores["n"] == 21 and scores["calibration_faces"] == 40
    assert set(scores) >= {"float32", "int8"} and 0 <= scores["int8"]["accuracy"] <= 1
    assert load_model(quantized).int8 == config  # and a loaded model carries them


def test_a_model_with_ranges_runs_in_int8(quantized, examples):
    fast = Predictor.from_pretrained(str(quantized), device="cpu")
    exact = Predictor.from_pretrained(str(quantized), device="cpu", backend="onnx")
    assert (fast.backend, exact.backend) == ("onnxruntime-int8", "onnxruntime")
    [a], [b] = fast.predict(examples / PHOTO), exact.predict(examples / PHOTO)
    assert a.label == b.label == "happy"
    assert "int8" in fast.runner.path.name and fast.metrics["precision"] == "int8" and "precision" not in exact.metrics
    fast.runner.path.write_bytes(b"not an onnx graph")  # a damaged cached graph is built again
    again = Predictor.from_pretrained(str(quantized), device="cpu")
    assert again.backend == "onnxruntime-int8" and again.runner.path == fast.runner.path
    assert again.predict(examples / PHOTO)[0].probabilities == a.probabilities


@pytest.mark.parametrize("source", ["embedded:wide_cnn", "embedded:compact_cnn"])
def test_int8_reads_real_faces_as_float32_does(source, examples):
    """With ranges measured on FER2013 faces: the same answer on every face of the photos, within 5
    points of probability."""
    fast, exact = Predictor.from_pretrained(source, device="cpu"), Predictor.from_pretrained(
        source, device="cpu", backend="onnx")
    assert (fast.backend, exact.backend) == ("onnxruntime-int8", "onnxruntime")
    faces = 0
    for photo in (PHOTO, "max_surprised.jpeg", "max_angry.jpg", "skimage_astronaut.png"):
        for a, b in zip(fast.predict(examples / photo), exact.predict(examples / photo), strict=True):
            faces += 1
            assert a.label == b.label, photo
            assert max(abs(a.probabilities[k] - b.probabilities[k]) for k in a.probabilities) < 0.05, photo
    assert faces == 4


def test_a_graph_that_does_not_reproduce_its_record_falls_back_to_float32(quantized, tmp_path, caplog):
    folder = tmp_path / "tampered"
    shutil.copytree(quantized, folder)
    config = json.loads((folder / "config.json").read_text())
    config["int8"]["check"][0] = list(reversed(config["int8"]["check"][0]))
    (folder / "config.json").write_text(json.dumps(config))
    with caplog.at_level(logging.WARNING, logger="fer_space.runtime.backends"):
        assert Predictor.from_pretrained(str(folder), device="cpu").backend == "onnxruntime"
    assert "differs from its recorded output" in caplog.text
    with pytest.raises(RuntimeError, match="recorded output"):
        Predictor.from_pretrained(str(folder), device="cpu", backend="int8")


def test_evaluate_reproduces_the_stored_int8_score_and_refuses_a_model_without_ranges(
        quantized, compact_dir, fer_csv, capsys):
    from training.evaluate import main as evaluate_main

    data = str(fer_csv)
    assert evaluate_main(["--model", str(quantized), "--data", data, "--split", "PublicTest", "--backend", "int8",
                          "--json"]) == 0
    stored = json.loads((quantized / "metrics.json").read_text())["int8"]["int8"]["accuracy"]
    assert round(json.loads(capsys.readouterr().out)["accuracy"], 4) == stored
    assert evaluate_main(["--model", str(compact_dir), "--data", data, "--backend", "int8"]) == 2
    assert "training.quantize" in capsys.readouterr().err


def test_a_model_without_ranges_runs_in_float32(compact_dir):
    assert Predictor.from_pretrained(str(compact_dir), device="cpu").backend == "onnxruntime"
    with pytest.raises(ValueError, match="training.quantize"):
        Predictor.from_pretrained(str(compact_dir), device="cpu", backend="int8")
    with pytest.raises(ValueError, match="backend must be one of"):
        Predictor.from_pretrained(str(compact_dir), device="cpu", backend="int4")


INT8 = [s for s in embedded_models() if "int8" in json.loads((embedded_dir(s) / "config.json").read_text())]


def test_every_model_in_the_pickers_has_int8_ranges():
    """All but the nano Swin pair, where int8 measured slower than float32 (README, Speed)."""
    assert set(DISPLAY_NAMES) & set(embedded_models()) <= set(INT8)
    assert set(embedded_models()) - set(INT8) == {"embedded:swin_nano", "embedded:swin_se_resnet_nano"}


@pytest.mark.parametrize("source", INT8)
def test_every_shipped_model_with_ranges_runs_in_int8_at_a_measured_small_cost(source):
    metrics = json.loads((embedded_dir(source) / "metrics.json").read_text())["int8"]
    assert metrics["split"] == "PublicTest" and metrics["n"] == 3589
    assert metrics["int8"]["accuracy"] >= metrics["float32"]["accuracy"] - 0.01
    assert Predictor.from_pretrained(source, device="cpu").backend == "onnxruntime-int8"


def test_the_app_shows_the_scores_of_the_model_as_it_runs():
    from fer_space.app.handlers import metrics_line

    fast = Predictor.from_pretrained("embedded:compact_cnn", device="cpu")
    exact = Predictor.from_pretrained("embedded:compact_cnn", device="cpu", backend="onnx")
    int8, float32 = (json.loads((embedded_dir("embedded:compact_cnn") / "metrics.json").read_text())["int8"][k]
                     for k in ("int8", "float32"))
    assert fast.metrics["accuracy"] == int8["accuracy"] and exact.metrics["accuracy"] == pytest.approx(
        float32["accuracy"], abs=1e-4)
    assert metrics_line(fast).endswith("run in int8") and f"{int8['accuracy']:.1%}" in metrics_line(fast)
    assert "int8" not in metrics_line(exact)
