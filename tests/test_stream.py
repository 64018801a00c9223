"""Webcam path: tracking, smoothing and the stream function over real frames."""

import numpy as np
import pytest

from fer_space.confidence import Calibration
from fer_space.images import load_image
from fer_space.stream import REUSE_FRAMES, StreamSession, stream_detector
from fer_space.tracking import FaceTracker, iou


def frames(examples, n=12, step=4):
    """The astronaut photo panning to the right, as a 640x480 camera would see it."""
    rgb = load_image(examples / "skimage_astronaut.png")
    canvas = np.zeros((480, 640, 3), np.uint8)
    for i in range(n):
        frame = canvas.copy()
        frame[:, 40 + i * step : 40 + i * step + 512][:480] = rgb[:480]
        yield frame


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0


def test_tracker_keeps_ids_smooths_and_forgets():
    tracker = FaceTracker(smoothing=0.5, max_missed=2)
    a, b = np.eye(7)[3], np.eye(7)[5]
    t1 = tracker.update([(0, 0, 10, 10), (50, 50, 60, 60)], np.stack([a, b]), [0.9, 0.9])
    t2 = tracker.update([(51, 50, 61, 60), (1, 0, 11, 10)], np.stack([b, b]), [0.9, 0.9])
    assert [t.track_id for t in t2] == [t1[1].track_id, t1[0].track_id]  # matched by overlap, not order
    assert t2[1].probs[3] == pytest.approx(0.5) and t2[1].probs[5] == pytest.approx(0.5)  # EMA, no jump
    for _ in range(3):
        tracker.update([], np.zeros((0, 7)), [])
    assert tracker.tracks == []


def test_tracker_state_is_bounded():
    tracker = FaceTracker(max_tracks=4)
    for i in range(50):
        tracker.update([(i * 100, 0, i * 100 + 10, 10)], np.eye(7)[:1], [0.9])
    assert len(tracker.tracks) <= 4


def test_stream_session_tracks_one_face_across_frames(predictor, examples):
    session = StreamSession(predictor, stream_detector(), detect_every=2)
    results, raw = [], []
    for f in frames(examples):
        results.append(session.process(f))
        raw.append(predictor.classify_faces(predictor.crops(f, session._faces))[0])
    ids = {t.track_id for r in results for t in r.tracks}
    assert ids == {1}
    assert [r.detected for r in results[:4]] == [True, False, True, False]
    assert all(r.annotated.shape == (480, 640, 3) for r in results)
    # Smoothed probabilities move less from frame to frame than the raw ones.
    smoothed = np.stack([r.tracks[0].probs for r in results])
    assert np.abs(np.diff(smoothed, axis=0)).sum() < np.abs(np.diff(np.stack(raw), axis=0)).sum()
    assert results[-1].fps > 0 and results[-1].latency_ms > 0


def test_a_still_face_is_classified_again_only_when_it_changes(predictor, examples):
    frame = next(frames(examples, n=1))
    session = StreamSession(predictor, stream_detector(), detect_every=100)
    counts = [session.process(frame).classified for _ in range(REUSE_FRAMES + 2)]
    assert counts == [1] + [0] * REUSE_FRAMES + [1]  # still: the last answer, refreshed every few frames
    probs = session.tracker.tracks[0].probs.copy()
    assert session.process(frame // 2).classified == 1  # darker: the face changed
    assert not np.allclose(session.tracker.tracks[0].probs, probs)
    assert StreamSession(predictor, stream_detector(), skip_still=False).process(frame).classified == 1


def test_an_unsure_face_is_classified_every_frame(predictor, examples):
    frame = next(frames(examples, n=1))
    calibration = predictor.model.calibration
    predictor.model.calibration = Calibration(calibration.temperature, unsure_below=1.0)
    try:
        session = StreamSession(predictor, stream_detector(), detect_every=100)
        assert [session.process(frame).classified for _ in range(4)] == [1, 1, 1, 1]
    finally:
        predictor.model.calibration = calibration


def test_ui_stream_function_keeps_per_session_state(examples, compact_dir):
    from fer_space.app.catalog import Entry, ModelCatalog
    from fer_space.app.handlers import stream_frame

    catalog = ModelCatalog([Entry("test model", str(compact_dir))], device="cpu")
    detector = stream_detector()
    state_a = state_b = None
    for frame in frames(examples, n=4):
        out_a, state_a, stats = stream_frame(catalog, detector, frame, state_a, "test model", 1)
        out_b, state_b, _ = stream_frame(catalog, detector, frame, state_b, "test model", 1)
    assert state_a is not state_b and state_a.frame_index == state_b.frame_index == 4
    assert "FPS" in stats and "#1" in stats
    assert stream_frame(catalog, detector, None, state_a, "test model", 1)[0] is None


def test_video_tracks_end_at_a_scene_cut(predictor, examples, tmp_path):
    """Two shots with the face in the same place: one track each, not one track across the cut."""
    import cv2

    from fer_space.images import load_image
    from fer_space.video import CUT_LEVELS, frame_signature, process_video

    rgb = load_image(examples / "skimage_astronaut.png")
    other_shot = np.clip(rgb.astype(np.float32) * 0.35 + np.array([90, 10, 60]), 0, 255).astype(np.uint8)
    assert np.abs(frame_signature(rgb) - frame_signature(other_shot)).mean() > CUT_LEVELS
    path = tmp_path / "two_shots.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (512, 512))
    for i in range(16):
        frame = rgb if i < 8 else other_shot
        writer.write(np.ascontiguousarray(np.roll(frame, i, axis=1)[:, :, ::-1]))
    writer.release()
    rows = process_video(path, predictor, tmp_path / "out").rows
    before = {r["track_id"] for r in rows if r["frame"] < 8}
    after = {r["track_id"] for r in rows if r["frame"] >= 8}
    assert len(before) == 1 and len(after) == 1 and before != after
