"""Bad-input corpus (generated here): every case gets a clear one-line error or a correct result."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from fer_space import ImageError
from fer_space.errors import VideoError
from fer_space.images import load_image


def _png(arr):
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")  # uint16 arrays become 16-bit PNGs
    return buf.getvalue()


def _bomb_png(width=30000, height=30000):
    """A valid PNG header declaring a huge image (the pixels are never sent)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\x00" * 100))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def photo(examples):
    return load_image(examples / "skimage_astronaut.png")


@pytest.fixture(scope="module")
def corpus(photo):
    return {"bad": bad_cases(photo), "good": good_cases(photo)}


def _encode(photo, fmt, **kw):
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, format=fmt, **kw)
    return buf.getvalue()


def bad_cases(photo):
    jpeg = _encode(photo, "JPEG")
    return {
        "empty file": b"",
        "truncated JPEG": jpeg[: len(jpeg) // 3],
        "JPEG header only": jpeg[:20],
        "text named .jpg": b"hello, this is a text file\n",
        "HTML named .jpg": b"<!doctype html><html><body>not an image</body></html>",
        "SVG": b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><circle r="40"/></svg>',
        "PDF": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF",
        "zip archive": b"PK\x03\x04" + b"\x00" * 60,
        "random bytes": np.random.default_rng(0).bytes(5000),
        "decompression bomb (30000x30000 declared)": _bomb_png(),
        "1x1 image": _png(np.zeros((1, 1, 3), np.uint8)),
        "10x10000 image": _png(np.zeros((10000, 10, 3), np.uint8)),
        "array of strings": np.array([["a"]]),
        "array with NaN": np.full((64, 64, 3), np.nan, np.float32),
        "array with 2 channels": np.zeros((64, 64, 2), np.uint8),
        "4-D array": np.zeros((1, 64, 64, 3), np.uint8),
        "float array out of [0, 1]": np.full((64, 64, 3), 7.0),
        "complex array": np.zeros((64, 64), np.complex64),
        "not an image object": {"image": "photo.jpg"},
        "missing file path": "/no/such/photo.jpg",
    }


def good_cases(photo):
    grey = np.asarray(Image.fromarray(photo).convert("L"))
    rgba = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)])
    frames = [Image.fromarray(photo), Image.fromarray(photo[:, ::-1].copy())]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    cmyk = io.BytesIO()
    Image.fromarray(photo).convert("CMYK").save(cmyk, format="JPEG")
    return {
        "16-bit PNG": _png(grey.astype(np.uint16) * 257),
        "CMYK JPEG": cmyk.getvalue(),
        "RGBA PNG": _png(rgba),
        "palette PNG": _png_palette(photo),
        "greyscale PNG": _png(grey),
        "animated GIF (first frame)": gif.getvalue(),
        "WebP": _encode(photo, "WEBP"),
        "BMP": _encode(photo, "BMP"),
        "uint16 array": photo.astype(np.uint16) * 257,
        "float array in [0, 1]": photo.astype(np.float32) / 255,
        "grey array (H, W, 1)": grey[:, :, None],
    }


def _png_palette(photo):
    buf = io.BytesIO()
    Image.fromarray(photo).quantize(256).save(buf, format="PNG")
    return buf.getvalue()


def test_corpus_has_at_least_25_cases(corpus):
    assert len(corpus["bad"]) + len(corpus["good"]) >= 25


@pytest.mark.parametrize("case", list(bad_cases(np.zeros((64, 64, 3), np.uint8))))
def test_bad_input_gets_one_clear_line(predictor, corpus, case):
    data = corpus["bad"][case]
    with pytest.raises(ImageError) as err:
        predictor.predict(data)
    message = str(err.value)
    assert message and "\n" not in message and len(message) < 200
    assert "Traceback" not in message


@pytest.mark.parametrize("case", list(good_cases(np.zeros((64, 64, 3), np.uint8))))
def test_unusual_but_valid_images_are_read_and_the_face_found(predictor, corpus, case):
    faces = predictor.predict(corpus["good"][case])
    assert len(faces) == 1, case
    x1, y1, x2, y2 = faces[0].box
    assert abs((x1 + x2) / 2 - 225) < 20 and abs((y1 + y2) / 2 - 117) < 20


def test_forty_faces(predictor, photo):
    """A 8x5 grid of the same face: every face found and classified in one batch."""
    face = np.asarray(Image.fromarray(photo[40:200, 150:300]).resize((120, 128)))
    grid = np.vstack([np.hstack([face] * 8)] * 5)
    faces = predictor.predict(grid)
    assert len(faces) == 40
    assert len({f.label for f in faces}) == 1  # same face, same answer


def test_video_that_is_not_a_video_and_zero_frames(predictor, tmp_path):
    import cv2

    from fer_space.video import process_video

    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    with pytest.raises(VideoError, match="not a video|no frames"):
        process_video(fake, predictor, tmp_path / "out")
    empty = tmp_path / "empty.avi"
    writer = cv2.VideoWriter(str(empty), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 64))
    writer.release()
    with pytest.raises(VideoError):
        process_video(empty, predictor, tmp_path / "out")


def test_a_photo_over_the_working_size_is_read_scaled_down(predictor, photo):
    from fer_space.images import MAX_PIXELS

    big = np.asarray(Image.fromarray(photo).resize((9600, 6400), Image.Resampling.BILINEAR))  # 61 MP, 3:2
    buf = io.BytesIO()
    Image.fromarray(big).save(buf, format="JPEG", quality=85)
    rgb = load_image(buf.getvalue())
    assert rgb.shape[0] * rgb.shape[1] <= MAX_PIXELS and rgb.shape[1] / rgb.shape[0] == pytest.approx(1.5, abs=0.01)
    faces = predictor.predict(buf.getvalue())
    assert len(faces) == 1 and faces[0].box[2] > rgb.shape[1] * 0.4  # the astronaut's face, in the scaled photo
