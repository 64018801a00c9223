"""The command line, run as a user would: a subprocess."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from .conftest import ROOT


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "fer_space", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_json_schema_on_photos(compact_dir, examples, tmp_path):
    blank = tmp_path / "blank.png"
    Image.fromarray(np.full((120, 160, 3), 200, np.uint8)).save(blank)
    out = run_cli("predict", str(examples / "singnet_laos.jpg"), str(blank), "--model", str(compact_dir), "--json",
                  "--save", str(tmp_path / "annotated"), "--explain", str(tmp_path / "heat"))
    assert out.returncode == 0, out.stderr
    laos, empty = (json.loads(line) for line in out.stdout.splitlines())
    assert laos["image"].endswith("singnet_laos.jpg")
    assert laos["model"]["name"] == "compact_cnn" and str(compact_dir) in laos["model"]["source"]
    assert laos["model"]["backend"] == "onnxruntime"  # no int8 ranges in this checkpoint
    assert len(laos["faces"]) == 2
    face = laos["faces"][0]
    assert set(face) == {"box", "detection_score", "label", "confidence", "unsure", "caption", "probabilities",
                         "warnings", "quality", "heat_maps"}
    assert len(face["box"]) == 4 and face["label"] in face["probabilities"]
    assert isinstance(face["unsure"], bool) and set(face["quality"]) >= {"face_px", "sharpness", "brightness"}
    assert Path(face["heat_maps"]["model"]).stat().st_size > 500  # --explain wrote the face's Grad-CAM map
    assert set(laos["timing_ms"]) >= {"detect", "classify", "total"}
    assert empty["faces"] == []
    assert (tmp_path / "annotated" / "singnet_laos_annotated.jpg").stat().st_size > 1000


def test_backend_choice_and_a_model_without_int8_ranges(compact_dir, examples):
    photo = str(examples / "max_happy-baby.jpeg")
    shipped = run_cli("predict", photo, "--model", "embedded:compact_cnn", "--json")
    exact = run_cli("predict", photo, "--model", "embedded:compact_cnn", "--json", "--backend", "onnx")
    assert json.loads(shipped.stdout)["model"]["backend"] == "onnxruntime-int8"
    assert json.loads(exact.stdout)["model"]["backend"] == "onnxruntime"
    refused = run_cli("predict", photo, "--model", str(compact_dir), "--backend", "int8")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and "training.quantize" in refused.stderr


def test_non_image_fails_with_one_line(compact_dir, tmp_path):
    fake = tmp_path / "notes.jpg"
    fake.write_text("this is not a picture")
    out = run_cli("predict", str(fake), "--model", str(compact_dir), "--json")
    assert out.returncode != 0
    assert out.stdout == ""
    assert out.stderr.strip().count("\n") == 0 and "not an image" in out.stderr


def test_models_lists_the_shipped_trained_models_and_the_architectures():
    from fer_space.sources import DISPLAY_NAMES, embedded_dir, embedded_models

    out = run_cli("models").stdout
    for source in embedded_models():
        accuracy = json.loads((embedded_dir(source) / "metrics.json").read_text())["accuracy"]
        line = next(line for line in out.splitlines() if line.split()[0] == source)
        assert f"{accuracy:.2%}" in line and DISPLAY_NAMES.get(source, "not offered in the app") in line
    assert "FER ensemble (5 CNNs, default)" in out
    assert "swin_se_resnet_nano" in out and "compact_cnn" in out
