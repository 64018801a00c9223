"""Annotated images stay readable: captions inside the image and apart, numbers where faces crowd."""

import cv2
import numpy as np
import pytest

from fer_space import Predictor
from fer_space.render import draw_boxes, place_labels


@pytest.fixture(scope="module")
def shipped():
    return Predictor.from_pretrained("embedded:compact_cnn", device="cpu")


def _apart_and_inside(rects, width, height):
    inside = all(0 <= x1 < x2 <= width and 0 <= y1 < y2 <= height for x1, y1, x2, y2 in rects)
    apart = all(not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])
                for i, a in enumerate(rects) for b in rects[i + 1:])
    return inside and apart


def test_captions_of_a_group_photo_are_inside_and_apart(shipped, examples):
    prediction = shipped.predict_timed(examples / "max_group.jpeg")
    h, w = prediction.image.shape[:2]
    boxes = [f.box for f in prediction.faces]
    sizes = [(cv2.getTextSize(f"#{i} unsure: sad / neutral", cv2.FONT_HERSHEY_SIMPLEX, 1.2, 2)[0][0], 30)
             for i in range(len(boxes))]
    rects = place_labels(sizes, boxes, w, h)
    assert len(boxes) >= 4 and rects is not None and _apart_and_inside(rects, w, h)


def test_a_crowded_photo_is_numbered_and_every_number_is_inside_and_apart(shipped, examples):
    prediction = shipped.predict_timed(examples / "singnet_classroom_in_tanzania.jpg")
    h, w = prediction.image.shape[:2]
    boxes = [f.box for f in prediction.faces]
    captions = [f.caption for f in prediction.faces]
    long_sizes = [(cv2.getTextSize(c, cv2.FONT_HERSHEY_SIMPLEX, 0.68, 1)[0][0] + 4, 24) for c in captions]
    assert len(boxes) >= 14 and place_labels(long_sizes, boxes, w, h) is None  # captions do not fit in place
    number_sizes = [(cv2.getTextSize(f"#{i + 1}", cv2.FONT_HERSHEY_SIMPLEX, 0.68, 1)[0][0] + 4, 24)
                    for i in range(len(boxes))]
    assert _apart_and_inside(place_labels(number_sizes, boxes, w, h), w, h)
    out = draw_boxes(prediction.image, boxes, captions, [(255, 255, 255)] * len(boxes))
    assert out.shape == prediction.image.shape and not np.array_equal(out, prediction.image)


def test_a_label_at_the_image_edge_moves_inside():
    rgb = np.zeros((100, 200, 3), np.uint8)
    (rect,) = place_labels([(120, 20)], [(150.0, 2.0, 199.0, 60.0)], 200, 100)  # a face at the top-right corner
    assert rect[0] >= 0 and rect[2] <= 200 and rect[1] >= 0 and rect[3] <= 100
    out = draw_boxes(rgb, [(150.0, 2.0, 199.0, 60.0)], ["surprise 99%"], [(255, 255, 255)])
    assert out[:, :150].any()  # the caption was drawn leftwards, inside the image
