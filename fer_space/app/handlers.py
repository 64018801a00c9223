"""What each tab does with a request: the core's calls, the app's outputs, and plain errors.

Errors a visitor can cause (a bad file, no face, a model that cannot be had) come back as one
``gr.Error`` line or a ``gr.Warning``, never a stack trace.
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd

from ..compare import compare, long_rows, published_accuracy
from ..confidence import caption
from ..errors import FERError, ModelLoadError
from ..explain import overlay
from ..images import load_image
from ..labels import EMOTIONS
from ..predictor import Predictor
from ..render import NEUTRAL_BOX, annotate, draw_boxes
from ..report import image_record
from ..stream import StreamSession
from .catalog import ModelCatalog
from .outputs import fresh_output_dir, jpeg_files, json_file

MAX_VIDEO_SECONDS = 60


def metrics_line(predictor: Predictor) -> str:
    """The model's published evaluation as it runs here, in one line."""
    m = predictor.metrics
    if not m:
        return "no published evaluation"
    data = Path(str(m.get("data", ""))).name.split(".")[0] or "?"
    return (f"accuracy {m['accuracy']:.1%}, weighted F1 {m['f1_weighted']:.1%} on {data} {m.get('split', '?')} "
            f"({m.get('n', '?')} faces)" + (", run in int8" if m.get("precision") == "int8" else ""))


def model_banner(catalog: ModelCatalog, name: str) -> str:
    """The line under a tab's model picker: which model answers, and how good it is."""
    try:
        p = catalog.get(name)
    except ModelLoadError as exc:
        return f"⚠️ **No trained model is available**: {exc}. Predictions are disabled."
    note, first = "", catalog.names()[0]
    if name != first and name == catalog.default_name():  # the configured main model could not be had
        note = f" ({first} could not be loaded: {' '.join(catalog.status(first)[1].split())[:300]})"
    return (f"Model in use: **{name}**{note} — `{p.model.description}`, {p.model.img_size} px "
            f"{'grey' if p.model.in_chans == 1 else 'RGB'} — {metrics_line(p)} (validation split; see About).")


def get_predictor(catalog: ModelCatalog, name: str) -> Predictor:
    try:
        return catalog.get(name or catalog.default_name())
    except ModelLoadError as exc:
        raise gr.Error(str(exc)) from exc


def as_rgb(image) -> np.ndarray:
    try:
        return load_image(image)
    except FERError as exc:
        raise gr.Error(f"Cannot read this image: {exc}") from exc


def analyse_image(catalog: ModelCatalog, image, model_name: str, align: bool, explain: bool = False):
    """Annotated image, face crops, the first face's label, the JSON record and (with ``explain``) each
    face's Grad-CAM heat maps."""
    if image is None:
        raise gr.Error("Upload a photo, paste one or take a webcam snapshot first.")
    predictor = get_predictor(catalog, model_name)
    try:
        prediction = predictor.predict_timed(image, align=align)  # the one decode of the upload
    except FERError as exc:
        raise gr.Error(f"Cannot read this image: {exc}") from exc
    rgb, faces = prediction.image, prediction.faces
    record = image_record(Path(image).name if isinstance(image, (str, Path)) else "image", predictor, prediction)
    if not faces:
        gr.Warning("No face found. Try a larger, frontal, well-lit face.")
        return jpeg_files([rgb])[0], [], None, record, []
    annotated, *crops = jpeg_files([annotate(rgb, faces), *prediction.crops])
    gallery = [(c, f"#{i + 1} {f.caption}" + "".join(f" · {w}" for w in f.warnings))
               for i, (c, f) in enumerate(zip(crops, faces, strict=True))]
    heat = []
    if explain:
        overlays, captions = [], []
        for i, (crop, maps) in enumerate(zip(prediction.crops, predictor.explain(prediction.crops), strict=True)):
            for name, heat_map in maps.items():
                overlays.append(overlay(crop, heat_map))
                captions.append(f"#{i + 1} {faces[i].caption} · {name}")
        heat = list(zip(jpeg_files(overlays), captions, strict=True))
    return annotated, gallery, label_value(record["faces"][0]), record, heat


def label_value(face: dict) -> str:
    """A face record as ``gr.Label`` shows it: its caption as the headline (``unsure: sad / neutral`` when
    the model is unsure, not its top class) over the seven probabilities, highest first."""
    ranked = sorted(face["probabilities"].items(), key=lambda kv: -kv[1])
    return json_file({"label": face["caption"], "confidences": [{"label": k, "confidence": v} for k, v in ranked]})


def select_face(record: dict | None, evt: gr.SelectData):
    faces = (record or {}).get("faces", [])
    return label_value(faces[evt.index]) if evt.index is not None and evt.index < len(faces) else None


def faces_table(record: dict | None) -> pd.DataFrame:
    """One row per face, numbered as on the image: what it reads and its warnings."""
    faces = (record or {}).get("faces", [])
    return pd.DataFrame({"face": [f"#{i + 1}" for i in range(len(faces))],
                         "reads": [f["caption"] for f in faces],
                         "warnings": ["; ".join(f["warnings"]) for f in faces]}, columns=["face", "reads", "warnings"])


def stream_frame(catalog: ModelCatalog, detector, frame, session: StreamSession | None, model_name: str,
                 detect_every: int):
    """One webcam frame in, annotated frame + per-session state + stats out."""
    if frame is None:
        return None, session, ""
    predictor = get_predictor(catalog, model_name)
    if session is None or session.predictor is not predictor or session.detect_every != int(detect_every):
        session = StreamSession(predictor, detector, detect_every=int(detect_every))
    result = session.process(as_rgb(frame))
    faces = ", ".join(f"#{t.track_id} {caption(t.probs, u)}" for t, u in zip(result.tracks, result.unsure, strict=True))
    faces = faces or "no face"
    stats = (f"**{model_name or catalog.default_name()}**: {result.fps:.1f} FPS · {result.latency_ms:.0f} ms/frame "
             f"(server) · {faces}")
    return result.annotated, session, stats


def preview_video(video) -> tuple[np.ndarray | None, str]:
    """The uploaded video's first frame and one line about it (or a plain message)."""
    from ..video import first_frame

    try:
        frame, info = first_frame(video)
    except FERError as exc:
        return None, f"⚠️ {exc}"
    return frame, f"{info}; press **Analyse video**."


def analyse_video(catalog: ModelCatalog, video, model_name: str, progress=gr.Progress()):  # noqa: B008
    from ..video import process_video

    if not video:
        raise gr.Error("Upload a short video first.")
    predictor = get_predictor(catalog, model_name)
    try:
        result = process_video(video, predictor, fresh_output_dir(), max_seconds=MAX_VIDEO_SECONDS,
                               progress=lambda f: progress(f, desc="analysing frames"))
    except FERError as exc:
        raise gr.Error(str(exc)) from exc
    rows = pd.DataFrame(result.rows)
    if rows.empty:
        gr.Warning("No face found in this video.")
        plot = pd.DataFrame({"time_s": [], "probability": [], "emotion": []})
    else:
        main = rows["track_id"].value_counts().idxmax()
        track = rows[rows["track_id"] == main]
        plot = track.melt(id_vars=["time_s"], value_vars=list(EMOTIONS), var_name="emotion", value_name="probability")
    note = f"{result.frames} frames analysed over {result.seconds:.1f} s"
    if result.truncated:
        note += f" (only the first {MAX_VIDEO_SECONDS} s)"
    tracks = rows["track_id"].nunique() if not rows.empty else 0
    return str(result.video_path), plot, str(result.csv_path), f"{note}; {tracks} face track(s)."


def compare_models(catalog: ModelCatalog, image, names: list[str], extra_repo: str):
    """Same faces, every chosen model: one row per face with each model's label and confidence side by
    side, the long table (every face, model and probability), and a line per model."""
    if image is None:
        raise gr.Error("Upload a photo first.")
    names = list(names or [])
    if extra_repo and extra_repo.strip():
        try:
            names.append(catalog.add(extra_repo))
        except ModelLoadError as exc:
            raise gr.Error(str(exc)) from exc
        catalog.preload([names[-1]])
    if not names:
        raise gr.Error("Choose at least one model.")
    rgb = as_rgb(image)
    faces = catalog.detector.detect(rgb)
    if not faces:
        gr.Warning("No face found.")
    info = ["| model | status | published evaluation | params |", "|---|---|---|---|"]
    ready = {}
    for name in names:
        state, reason = catalog.status(name)
        if state in ("pending", "loading") and not catalog.entries[name].embedded:
            catalog.preload([name])
            info.append(f"| {name} | still being fetched from the Hub; try again shortly | | |")
            continue
        try:
            ready[name] = catalog.get(name)
        except ModelLoadError:
            reason = " ".join(catalog.status(name)[1].split()).replace("|", "/")
            info.append(f"| {name} | unavailable: {reason} | | |")
    answers = compare(rgb, faces, ready)
    summary = pd.DataFrame({"#": list(range(1, len(faces) + 1))})
    for a in answers:
        params = sum(p.numel() for p in a.predictor.model.parameters()) / 1e6
        info.append(f"| {a.name} | ready, {a.ms:.0f} ms for {len(faces)} face(s) | {metrics_line(a.predictor)} | "
                    f"{params:.1f} M |")
        summary[f"{a.name} ({published_accuracy(a.predictor)}, {a.ms_per_face:.0f} ms/face)"] = a.captions
    annotated = jpeg_files([draw_boxes(rgb, [f.box for f in faces], [f"face {i + 1}" for i in range(len(faces))],
                                       [NEUTRAL_BOX] * len(faces))])[0]
    table = pd.DataFrame(long_rows(answers),
                         columns=["face", "model", "label", "confidence", "unsure", "latency_ms", *EMOTIONS])
    return annotated, summary, table, "\n".join(info)
