"""ZeroGPU: the image, video and compare calls run under ``spaces.GPU``; the webcam and plain hosts do not."""

import sys
import types

import pytest

from fer_space.app import build_demo
from fer_space.app.catalog import DEFAULT_NAME, Entry, ModelCatalog
from fer_space.app.zerogpu import on_gpu, zerogpu_module
from fer_space.images import load_image
from fer_space.sources import DEFAULT_DIR, EMBEDDED

pytestmark = pytest.mark.skipif(not (DEFAULT_DIR / "model.safetensors").exists(), reason="no embedded model")


class StandInSpaces(types.ModuleType):
    """Records ``spaces.GPU(duration=...)`` decorations and the calls made through them."""

    def __init__(self):
        super().__init__("spaces")
        self.durations, self.calls = [], []

    def GPU(self, duration):  # noqa: N802 (the real package's name)
        self.durations.append(duration)

        def decorate(fn):
            def on_borrowed_gpu(*args, **kwargs):
                self.calls.append(duration)
                return fn(*args, **kwargs)
            return on_borrowed_gpu
        return decorate


def _api_fn(demo, api_name):
    return next(f.fn for f in demo.fns.values() if f.api_name == api_name)


def _catalog():
    return ModelCatalog([Entry(DEFAULT_NAME, EMBEDDED)], device="cpu")


def test_without_spaces_the_functions_are_left_as_they_are(monkeypatch, examples):
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")  # set, but the package is not importable
    monkeypatch.setitem(sys.modules, "spaces", None)
    assert zerogpu_module() is None

    def fn():
        return 1
    assert on_gpu(30)(fn) is fn
    demo = build_demo(_catalog())
    _, _, _, record, _ = _api_fn(demo, "predict")(load_image(examples / "skimage_astronaut.png"), DEFAULT_NAME,
                                                     True)
    assert len(record["faces"]) == 1


def test_on_zerogpu_image_video_and_compare_borrow_the_gpu_and_the_webcam_does_not(monkeypatch, examples):
    spaces = StandInSpaces()
    monkeypatch.setitem(sys.modules, "spaces", spaces)
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    assert zerogpu_module() is None and on_gpu(5)(len) is len  # installed but not on ZeroGPU: untouched
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert zerogpu_module() is spaces
    demo = build_demo(_catalog())
    assert sorted(spaces.durations) == [30, 60, 120]  # image, compare, video; nothing for the stream
    rgb = load_image(examples / "skimage_astronaut.png")
    _, _, _, record, _ = _api_fn(demo, "predict")(rgb, DEFAULT_NAME, True)
    _, summary, _, _ = _api_fn(demo, "compare")(rgb, [DEFAULT_NAME], "")
    assert spaces.calls == [30, 60] and len(record["faces"]) == len(summary) == 1
