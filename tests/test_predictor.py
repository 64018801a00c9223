import numpy as np
import pytest

from fer_space import EMOTIONS, ImageError, ModelLoadError, Predictor
from fer_space.images import load_image


def test_probabilities_are_a_distribution(predictor, examples):
    faces = predictor.predict(examples / "max_group.jpeg")
    assert len(faces) >= 4
    for f in faces:
        assert list(f.probabilities) == list(EMOTIONS)
        assert sum(f.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
        assert f.label == max(f.probabilities, key=f.probabilities.get)
        assert f.confidence == f.probabilities[f.label]
        assert len(f.landmarks) == 5


def test_batch_equals_single_calls(predictor, examples):
    rgb = load_image(examples / "singnet_classroom_in_tanzania.jpg")
    faces = predictor.detector.detect(rgb)
    crops = predictor.crops(rgb, faces)
    batched = predictor.classify_faces(crops)
    singles = np.concatenate([predictor.classify_faces([c]) for c in crops])
    assert batched.shape == (len(faces), 7)
    np.testing.assert_allclose(batched, singles, atol=1e-5)


def test_no_face_gives_an_empty_list(predictor, noise_image):
    prediction = predictor.predict_timed(noise_image)
    assert prediction.faces == []
    assert set(prediction.timing_ms) == {"decode", "detect", "classify", "total"}


def test_bgr_input_matches_rgb(predictor, examples):
    rgb = load_image(examples / "skimage_astronaut.png")
    a = predictor.predict(rgb)
    b = predictor.predict(np.ascontiguousarray(rgb[:, :, ::-1]), bgr=True)
    assert a[0].probabilities == pytest.approx(b[0].probabilities)


@pytest.mark.parametrize("bad", [b"", b"<html>hello</html>", np.zeros((3, 3, 3), np.uint8),
                                 np.full((64, 64), np.nan), np.zeros((64, 64, 2), np.uint8)])
def test_unreadable_input_raises_image_error(predictor, bad):
    with pytest.raises(ImageError):
        predictor.predict(bad)


def test_missing_folder_and_empty_folder_are_clear(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        Predictor.from_pretrained("./no/such/folder")
    with pytest.raises(ModelLoadError, match="has no config.json"):
        Predictor.from_pretrained(str(tmp_path))


def test_onnx_runtime_matches_pytorch(compact_dir, examples):
    onnx = Predictor.from_pretrained(str(compact_dir), device="cpu", backend="auto")
    eager = Predictor.from_pretrained(str(compact_dir), device="cpu", backend="torch")
    assert onnx.backend == "onnxruntime" and eager.backend == "torch"
    rgb = load_image(examples / "singnet_classroom_in_tanzania.jpg")
    crops = onnx.crops(rgb, onnx.detector.detect(rgb))
    np.testing.assert_allclose(onnx.classify_faces(crops), eager.classify_faces(crops), atol=1e-4)
    with pytest.raises(ValueError, match="backend"):
        Predictor.from_pretrained(str(compact_dir), device="cpu", backend="tensorrt")


def test_the_onnx_export_is_cached_per_weights_and_a_damaged_file_is_replaced(tmp_path, monkeypatch):
    import torch

    from fer_space.models import create_model
    from fer_space.runtime.backends import OnnxRunner, cache_dir

    monkeypatch.setenv("FER_CACHE", str(tmp_path))
    torch.manual_seed(0)
    model = create_model("compact_cnn").eval()
    x = torch.randn(3, 1, 48, 48)
    first = OnnxRunner(model)
    assert first.path is not None and first.path.parent == cache_dir() and list(cache_dir().iterdir()) == [first.path]
    stamp = first.path.stat().st_mtime_ns
    second = OnnxRunner(model)
    assert second.path == first.path and first.path.stat().st_mtime_ns == stamp  # not exported again
    torch.testing.assert_close(second(x), first(x))
    with torch.no_grad():
        model.head[-1].bias.add_(1.0)  # other weights, another graph
    changed = OnnxRunner(model)
    assert changed.path != first.path and len(list(cache_dir().iterdir())) == 2
    with torch.inference_mode():
        torch.testing.assert_close(changed(x), model(x), atol=1e-4, rtol=1e-4)
    changed.path.write_bytes(b"not an onnx graph")
    repaired = OnnxRunner(model)
    with torch.inference_mode():
        torch.testing.assert_close(repaired(x), model(x), atol=1e-4, rtol=1e-4)
    assert repaired.path.stat().st_size > 1000


def test_concurrent_requests_run_one_inference_at_a_time(compact_dir, examples):
    """Server threads share the cores through the inference gate: never two model calls at once."""
    import threading
    import time

    p = Predictor.from_pretrained(str(compact_dir), device="cpu")
    rgb = load_image(examples / "max_group.jpeg")
    crops = p.crops(rgb, p.detector.detect(rgb))
    real, active, peak, lock = p.runner, [0], [0], threading.Lock()

    def counting_runner(batch):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)  # a slow model: calls that are not serialised overlap here
        try:
            return real(batch)
        finally:
            with lock:
                active[0] -= 1

    p.runner = counting_runner
    start, results = threading.Barrier(4), []

    def request():
        start.wait()
        results.append(p.classify_faces(crops))

    workers = [threading.Thread(target=request) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(results) == 4 and all(np.array_equal(r, results[0]) for r in results)
    assert peak[0] == 1
