"""The whole-pipeline evaluation: faces of known framing pasted into canvases, read by the app's road."""

import cv2
import numpy as np
import pytest

from fer_space import Predictor
from fer_space.faces import crop_face
from fer_space.images import load_image
from training.data import FaceArrays
from training.pipeline_eval import canvases, evaluate_pipeline, main, make_canvas

from .test_training import make_fer_csv


@pytest.fixture(scope="module")
def real_faces(examples):
    """48x48 grey face crops of the example photos, framed about as FER2013 frames its faces."""
    detector = Predictor.from_pretrained("embedded:compact_cnn", device="cpu").detector
    images = []
    for name in ("skimage_astronaut.png", "max_group.jpeg", "singnet_laos.jpg", "max_happy-baby.jpeg"):
        rgb = load_image(examples / name)
        for face in detector.detect(rgb):
            crop = crop_face(rgb, face, margin=0.0, align=False)
            images.append(cv2.resize(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), (48, 48), interpolation=cv2.INTER_AREA))
    n = len(images)
    return FaceArrays(np.stack(images), np.full(n, 3), np.array(["PublicTest"] * n), np.arange(n))


def test_a_canvas_holds_the_face_where_it_says(real_faces):
    canvas = make_canvas(real_faces.images[0], np.random.default_rng(0))
    patch = canvas.rgb[canvas.y:canvas.y + canvas.side, canvas.x:canvas.x + canvas.side, 0]
    expected = cv2.resize(real_faces.images[0], (canvas.side, canvas.side), interpolation=cv2.INTER_CUBIC)
    assert 96 <= canvas.side <= 192 and canvas.rgb.shape == (360, 480, 3) and np.array_equal(patch, expected)
    again = [c.rgb for c in canvases(real_faces, seed=3)]
    assert all(np.array_equal(a, b.rgb) for a, b in zip(again, canvases(real_faces, seed=3), strict=True))


def test_pipeline_evaluation_detects_the_pasted_faces_and_scores_each_crop(real_faces):
    predictor = Predictor.from_pretrained("embedded:compact_cnn", device="cpu")
    result = evaluate_pipeline(predictor, real_faces, seed=0, crops={"tight": (-0.025, True)})
    assert len(real_faces) >= 6 and result["n"] == len(real_faces) and result["detected"] >= 0.8
    for accuracy in result["pipeline_accuracy"].values():
        assert 0 <= accuracy <= result["detected"]  # a miss counts as wrong
    q1, median, q3 = result["framing"]["side_over_height"]
    assert q1 <= median <= q3 and 0.6 < median < 1.4  # the pasted frame is about the detector's box


def test_pipeline_evaluation_runs_from_the_command_line(tmp_path, capsys):
    data = make_fer_csv(tmp_path / "fer2013.csv.gz")  # random pixels: a clean run whatever is found
    assert main(["--model", "embedded:compact_cnn", "--data", str(data), "--split", "PublicTest", "--limit", "3",
                 "--json"]) == 0
    assert '"pipeline_accuracy": {"app"' in capsys.readouterr().out
    assert main(["--data", str(tmp_path / "missing.csv"), "--split", "PublicTest"]) == 2


def test_every_embedded_model_crops_as_fer2013_frames_its_faces(compact_dir):
    from fer_space.models.base import FER2013_CROP
    from fer_space.sources import embedded_models

    for source in embedded_models():
        predictor = Predictor.from_pretrained(source, device="cpu", backend="torch")
        assert (predictor.model.crop_margin, predictor.model.crop_align) == tuple(FER2013_CROP.values()), source
        assert predictor.align is False
    assert Predictor.from_pretrained(source, device="cpu", backend="torch", align=True).align is True


def test_robustness_applies_each_change_and_scores_it(real_faces):
    from training.robustness import CHANGES, robustness

    face = real_faces.images[0]
    for name, change in CHANGES.items():
        out = change(face)
        assert out.shape == face.shape and out.dtype == np.uint8 and not np.array_equal(out, face), name
    bright = (real_faces.images.mean(axis=(1, 2)) > 100).astype(int)  # a "model" reading brightness
    result = robustness(lambda images: (images.mean(axis=(1, 2)) > 100).astype(int), real_faces.images, bright)
    assert result["clean"] == 1.0 and set(result) == {"clean", *CHANGES}
    assert all(0.0 <= v <= 1.0 for v in result.values())


def test_blur_and_jpeg_augmentation_change_the_training_face():
    import torch

    from fer_space.models import create_model
    from training.transforms import AugmentConfig, train_transform

    face = np.random.default_rng(0).integers(0, 255, (48, 48), dtype=np.uint8)
    plain = AugmentConfig(hflip=0, rotation=0, translate=0, scale=(1.0, 1.0), brightness=0, contrast=0, erasing=0)
    model = create_model("compact_cnn")
    clean = train_transform(model, plain)(face)
    for part in ({"blur": 1.0}, {"jpeg": 1.0}):
        changed = train_transform(model, AugmentConfig(**{**plain.__dict__, **part}))(face)
        assert changed.shape == clean.shape and not torch.allclose(changed, clean), part
    assert AugmentConfig(blur=0.4, jpeg=0.2).scaled(0.5).blur == 0.2
