"""MTCNN through our interface, on real photos."""

import io

import numpy as np
import pytest
from PIL import Image

from fer_space.faces import Face, FaceDetector, box_region, crop_face
from fer_space.images import load_image


@pytest.fixture(scope="module")
def detector():
    return FaceDetector()


def _centre(face):
    x1, y1, x2, y2 = face.box
    return (x1 + x2) / 2, (y1 + y2) / 2


def test_astronaut_has_one_face_in_the_right_place(detector, examples):
    faces = detector.detect(load_image(examples / "skimage_astronaut.png"))
    assert len(faces) == 1
    cx, cy = _centre(faces[0])
    # Eileen Collins' face: centred near (225, 117) in the 512x512 picture, about 90x110 px.
    assert abs(cx - 225) < 15 and abs(cy - 117) < 15
    assert 70 < faces[0].width < 120 and faces[0].score > 0.95
    eyes = faces[0].landmarks[:2]
    assert eyes[0][0] < eyes[1][0]  # left eye (in the image) first


def test_group_photos_have_several_faces(detector, examples):
    assert len(detector.detect(load_image(examples / "max_group.jpeg"))) >= 4
    assert len(detector.detect(load_image(examples / "singnet_classroom_in_tanzania.jpg"))) >= 12


def test_no_face_in_noise(detector, noise_image):
    assert detector.detect(noise_image) == []


def test_exif_rotation_is_applied(detector, examples):
    rgb = load_image(examples / "skimage_astronaut.png")
    rotated = Image.fromarray(rgb).rotate(90, expand=True)  # stored sideways...
    exif = Image.Exif()
    exif[0x0112] = 6  # ...with the EXIF tag that says "rotate 90 clockwise to view"
    buf = io.BytesIO()
    rotated.save(buf, format="JPEG", exif=exif, quality=95)
    upright = load_image(buf.getvalue())
    assert upright.shape == rgb.shape
    faces = detector.detect(upright)
    assert len(faces) == 1
    assert np.allclose(_centre(faces[0]), (225, 117), atol=20)


def test_relative_minimum_size_drops_small_faces(examples):
    classroom = load_image(examples / "singnet_classroom_in_tanzania.jpg")
    many = FaceDetector().detect(classroom)
    few = FaceDetector(min_face_ratio=0.2).detect(classroom)
    assert len(few) < len(many)
    assert few and all(max(f.width, f.height) >= 0.2 * 544 for f in few)


def test_boxes_are_clipped_and_crops_square(detector):
    face = Face((-10.0, -20.0, 60.0, 40.0), 0.99, np.array([[10, 10], [40, 20], [25, 25], [15, 32], [35, 35]], float))
    rgb = np.full((50, 80, 3), 128, np.uint8)
    crop = crop_face(rgb, face, margin=0.2, align=True)
    assert crop.shape[0] == crop.shape[1] == round(70 * 1.4)
    assert crop.dtype == np.uint8


def test_alignment_levels_the_eyes(detector, examples):
    rgb = load_image(examples / "skimage_astronaut.png")
    tilted = np.asarray(Image.fromarray(rgb).rotate(20, center=(225, 117), resample=Image.BILINEAR))
    face = detector.detect(tilted)[0]
    aligned = crop_face(tilted, face, margin=0.3, align=True)
    again = detector.detect(np.ascontiguousarray(aligned))
    (lx, ly), (rx, ry) = again[0].landmarks[:2]
    assert abs(np.degrees(np.arctan2(ry - ly, rx - lx))) < 5


def test_box_region_is_the_face_box_inside_the_crop():
    rgb = np.zeros((200, 200, 3), np.uint8)
    rgb[60:140, 50:130] = 255  # the face box, 80 px
    face = Face((50.0, 60.0, 130.0, 140.0), 0.99)
    crop = crop_face(rgb, face, margin=0.25, align=False)
    region = box_region(crop, 0.25)
    assert crop.shape[0] == 120 and region.shape[:2] == (80, 80)
    assert region.min() == 255 and crop[:20].max() == 0  # all face, and the margin is outside it
