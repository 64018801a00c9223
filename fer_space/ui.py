"""The Gradio app: Image, Webcam, Video, Compare models and About tabs over the inference core.

The only module that imports gradio. ``build_demo()`` returns the Blocks; ``launch()`` serves it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import cv2
import gradio as gr
import numpy as np
import pandas as pd

from .calibration import caption
from .catalog import LIVE_NAME, ModelCatalog
from .errors import FERError, ModelLoadError
from .explain import overlay
from .images import load_image
from .labels import EMOTIONS
from .predictor import Predictor
from .render import NEUTRAL_BOX, annotate, draw_boxes
from .stream import StreamSession, stream_detector
from .zerogpu import on_gpu, zerogpu_module

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLE_FILES = ["skimage_astronaut.png", "max_group.jpeg", "max_happy-baby.jpeg", "max_surprised.jpeg",
                 "max_sad-baby.jpeg", "max_angry.jpg", "singnet_laos.jpg", "singnet_classroom_in_tanzania.jpg"]
MAX_FILE_SIZE = "50mb"
MAX_VIDEO_SECONDS = 60
# Our output files live beside Gradio's cache and are deleted after an hour, like it.
OUTPUT_DIR = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio") / "fer_space"
OUTPUT_TTL_S = 3600

CREDITS = """**Example photos**: NASA (Eileen Collins, public domain; no endorsement implied); Pexels photos via
IBM's MAX-Facial-Emotion-Classifier (CC0 / Pexels License); pixnio, Pixabay, publicdomainpictures.net and
pxhere photos via singnet/face-services (public domain / no attribution required). Full list: `examples/LICENSES.md`."""

PRIVACY = """**Privacy**: images, webcam frames and videos are processed on this server and kept nowhere but in
the temporary cache (Gradio's, and the app's result files beside it), which is deleted after an hour."""


class UploadedImage(gr.Image):
    """``gr.Image`` whose upload reaches the app as a file path, not decoded by Gradio, so the core's
    decoder (EXIF rotation, 16-bit, size limits) reads it and says plainly what is wrong with bad files."""

    def get_block_name(self) -> str:
        return "image"

    def preprocess(self, payload):
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return payload.path
        return super().preprocess(payload)


def _metrics_line(predictor: Predictor) -> str:
    m = predictor.metrics
    if not m:
        return "no published evaluation"
    data = Path(str(m.get("data", ""))).name.split(".")[0] or "?"
    return (f"accuracy {m['accuracy']:.1%}, weighted F1 {m['f1_weighted']:.1%} on {data} {m.get('split', '?')} "
            f"({m.get('n', '?')} faces)" + (", run in int8" if m.get("precision") == "int8" else ""))


def _model_banner(catalog: ModelCatalog, name: str) -> str:
    try:
        p = catalog.get(name)
    except ModelLoadError as exc:
        return f"⚠️ **No trained model is available**: {exc}. Predictions are disabled."
    fallback = ""
    first = catalog.names()[0]
    if name != first:
        fallback = f" ({first} could not be loaded: {' '.join(catalog.status(first)[1].split())[:300]})"
    return (f"Model in use: **{name}**{fallback} — `{p.model.description}`, {p.model.img_size} px "
            f"{'grey' if p.model.in_chans == 1 else 'RGB'} — {_metrics_line(p)} (validation split; see About).")


def _get(catalog: ModelCatalog, name: str) -> Predictor:
    try:
        return catalog.get(name or catalog.default_name())
    except ModelLoadError as exc:
        raise gr.Error(str(exc)) from exc


def _as_rgb(image) -> np.ndarray:
    try:
        return load_image(image)
    except FERError as exc:
        raise gr.Error(f"Cannot read this image: {exc}") from exc


def _fresh_output_dir() -> Path:
    """A new folder for one request's output files; folders older than ``OUTPUT_TTL_S`` are removed."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT_DIR.iterdir():
        try:
            if time.time() - old.stat().st_mtime > OUTPUT_TTL_S:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # removed by a concurrent request
            pass
    path = OUTPUT_DIR / uuid.uuid4().hex
    path.mkdir()
    return path


def _jpeg_files(images: list[np.ndarray]) -> list[str]:
    """Write RGB images as JPEG files of this request and return their paths.

    Returning paths rather than arrays matters under load: Gradio saves returned arrays to a path
    named by their content and rewrites it in place, so two users getting the same picture (the
    same example clicked) could download a half-written file; files are copied into its cache
    atomically instead."""
    folder = _fresh_output_dir()
    paths = []
    for i, rgb in enumerate(images):
        path = folder / f"{i}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(str(path))
    return paths


# ---- Image tab ---------------------------------------------------------------------------------
def analyse_image(catalog: ModelCatalog, image, model_name: str, align: bool, explain: bool = False):
    """Annotated image, face crops, probabilities of the first face, the CLI JSON, all faces'
    probabilities, and (with ``explain``) each face's Grad-CAM heat maps."""
    if image is None:
        raise gr.Error("Upload a photo, paste one or take a webcam snapshot first.")
    predictor = _get(catalog, model_name)
    rgb = _as_rgb(image)
    prediction = predictor.predict_timed(rgb, align=align)
    faces = prediction.faces
    record = {"model": {"name": predictor.model.architecture, "source": predictor.source.describe()},
              "faces": [f.to_dict() for f in faces], "timing_ms": prediction.timing_ms}
    if not faces:
        gr.Warning("No face found. Try a larger, frontal, well-lit face.")
        return _jpeg_files([rgb])[0], [], None, record, [], []
    annotated, *crops = _jpeg_files([annotate(rgb, faces), *prediction.crops])
    gallery = [(c, f"#{i + 1} {f.caption}" + "".join(f" · {w}" for w in f.warnings))
               for i, (c, f) in enumerate(zip(crops, faces, strict=True))]
    probs = [f.probabilities for f in faces]
    heat = []
    if explain:
        overlays, captions = [], []
        for i, (crop, maps) in enumerate(zip(prediction.crops, predictor.explain(prediction.crops), strict=True)):
            for name, heat_map in maps.items():
                overlays.append(overlay(crop, heat_map))
                captions.append(f"#{i + 1} {faces[i].caption} · {name}")
        heat = list(zip(_jpeg_files(overlays), captions, strict=True))
    return annotated, gallery, probs[0], record, probs, heat


def select_face(probs: list[dict], evt: gr.SelectData):
    return probs[evt.index] if probs and evt.index is not None and evt.index < len(probs) else None


# ---- Webcam tab --------------------------------------------------------------------------------
def stream_frame(catalog: ModelCatalog, detector, frame, session: StreamSession | None, model_name: str,
                 detect_every: int):
    """One webcam frame in, annotated frame + per-session state + stats out."""
    if frame is None:
        return None, session, ""
    predictor = _get(catalog, model_name)
    if session is None or session.predictor is not predictor or session.detect_every != int(detect_every):
        session = StreamSession(predictor, detector, detect_every=int(detect_every))
    result = session.process(_as_rgb(frame))
    faces = ", ".join(f"#{t.track_id} {caption(t.probs, u)}" for t, u in zip(result.tracks, result.unsure, strict=True))
    faces = faces or "no face"
    stats = (f"**{model_name or catalog.default_name()}**: {result.fps:.1f} FPS · {result.latency_ms:.0f} ms/frame "
             f"(server) · {faces}")
    return result.annotated, session, stats


# ---- Video tab ---------------------------------------------------------------------------------
def analyse_video(catalog: ModelCatalog, video, model_name: str, progress=gr.Progress()):  # noqa: B008
    from .video import process_video

    if not video:
        raise gr.Error("Upload a short video first.")
    predictor = _get(catalog, model_name)
    try:
        result = process_video(video, predictor, _fresh_output_dir(), max_seconds=MAX_VIDEO_SECONDS,
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


# ---- Compare tab -------------------------------------------------------------------------------
def _column_name(name: str, predictor: Predictor, ms_per_face: float) -> str:
    """A Compare column header: the model, its published accuracy and its latency here."""
    m = predictor.metrics
    accuracy = f"{m['accuracy']:.1%} val" if "accuracy" in m else "no eval"
    return f"{name} ({accuracy}, {ms_per_face:.0f} ms/face)"


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
    rgb = _as_rgb(image)
    faces = catalog.detector.detect(rgb)
    if not faces:
        gr.Warning("No face found.")
    summary = pd.DataFrame({"face": list(range(1, len(faces) + 1))})
    rows, info = [], ["| model | status | published evaluation | parameters |", "|---|---|---|---|"]
    for name in names:
        state, reason = catalog.status(name)
        if state in ("pending", "loading") and not catalog.entries[name].shipped:
            catalog.preload([name])
            info.append(f"| {name} | still being fetched from the Hub; try again shortly | | |")
            continue
        try:
            predictor = catalog.get(name)
        except ModelLoadError:
            reason = " ".join(catalog.status(name)[1].split()).replace("|", "/")
            info.append(f"| {name} | unavailable: {reason} | | |")
            continue
        start = time.perf_counter()
        probs = predictor.classify_faces(predictor.crops(rgb, faces))
        ms = (time.perf_counter() - start) * 1e3
        ms_per_face = ms / max(1, len(faces))
        params = sum(p.numel() for p in predictor.model.parameters()) / 1e6
        info.append(f"| {name} | ready, {ms:.0f} ms for {len(faces)} face(s) | {_metrics_line(predictor)} | "
                    f"{params:.1f} M |")
        best = probs.argmax(1) if len(faces) else []
        summary[_column_name(name, predictor, ms_per_face)] = [
            caption(p, predictor.model.calibration.is_unsure(p)) for p in probs]
        for i, (b, p) in enumerate(zip(best, probs, strict=True)):
            rows.append({"face": i + 1, "model": name, "label": EMOTIONS[b], "confidence": round(float(p[b]), 3),
                         "unsure": predictor.model.calibration.is_unsure(p), "latency_ms": round(ms_per_face, 1),
                         **{e: round(float(v), 3) for e, v in zip(EMOTIONS, p, strict=True)}})
    annotated = _jpeg_files([draw_boxes(rgb, [f.box for f in faces], [f"face {i + 1}" for i in range(len(faces))],
                                        [NEUTRAL_BOX] * len(faces))])[0]
    table = pd.DataFrame(rows, columns=["face", "model", "label", "confidence", "unsure", "latency_ms", *EMOTIONS])
    return annotated, summary, table, "\n".join(info)


# ---- About -------------------------------------------------------------------------------------
ABOUT = """
### What this is
Facial expression recognition for every face in a picture, a webcam stream or a video: faces are found
by **MTCNN**, cropped (eyes levelled), and classified into 7 expressions: angry, disgust, fear, happy,
neutral, sad, surprise.

### The models
**Swin-SE-ResNet** (the project's reference architecture, from a 2025 university course project):

```
face 224x224 ─┬─ Swin-T ─ SE block ─ split (grouped) conv ─ mean pooling ─ f_swin ─┐
              └─ ResNet-50 ─ global average pooling ───────────────────── f_res ──┴─ concat ─ Linear ─ softmax
```

The **FER ensemble (5 CNNs, default)** averages five compact VGG-style CNNs on 48x48 grey faces,
each also reading the mirrored face: 72.0% on FER2013 PublicTest (71.9% in int8, as it runs on a
CPU), 8 ms a face on two CPU cores. The **Wide CNN (1 model + mirror, webcam default)** is its
strongest member alone, still reading the mirror: 71.5% in int8 at under a third of the cost (2.4 ms a
face), so the webcam keeps up. The **Compact CNN (1 model, fastest)** is one small CNN: 68.5%, under
1 ms a face, for crowded webcam scenes. On a CPU the models run in int8 (weights and activations),
3-4x faster than float32 for a few tenths of a point of accuracy; each model's line says so.
**Swin-SE-ResNet small (48 px)** is the namesake hybrid at a size two CPU cores can train: each branch
is trained alone, then the two together. It reads 59.2% of FER2013 PublicTest right and draws on both
branches, but it is only level with the **ResNet branch alone** trained as long (58.8%), 5 points
above the **Swin branch alone** (53.8%), and 13 points below the default ensemble. The three are
offered to compare, not as the default. The full-size
Swin-SE-ResNet and its baselines need a GPU run to be trained; until then the Compare tab says so in
one line. Every model here was trained on FER2013 from scratch; the Compare tab shows each one's
validation accuracy and its latency on the same faces. Models whose weights are not available are
marked unavailable and never run with random weights.

### Reading the results
Confidences are calibrated: each model has a temperature fitted on FER2013's validation split, so
"70%" means right about 70% of the time. Below its own threshold a face is shown as **unsure** with its
two leading expressions ("unsure: sad / neutral", white box). A **warning** beside a face says when it
is small, blurred, dark or overexposed, where expressions are misread more often. The
Image tab's Grad-CAM option shows where the model looked (one map per branch for Swin-SE-ResNet).

### What the numbers mean
FER2013 accuracies are measured on its `PublicTest` split, used for model selection (a validation
figure); the official `PrivateTest` split is withheld for independent evaluation. Expressions are not
emotions: the model reads faces, not minds. Do not use it to make decisions about people.
"""


def build_demo(catalog: ModelCatalog | None = None) -> gr.Blocks:
    """The whole app. ``catalog`` defaults to the embedded model plus the configured Hub models."""
    catalog = catalog or ModelCatalog()
    default = catalog.default_name()
    catalog.preload()
    # The webcam stays on the CPU on ZeroGPU: a GPU call per frame would spend the visitor's quota.
    live_catalog = catalog if zerogpu_module() is None else catalog.on_cpu()
    live_detector = stream_detector(str(live_catalog.device))
    names = catalog.names()
    examples = [[str(EXAMPLES_DIR / f)] for f in EXAMPLE_FILES if (EXAMPLES_DIR / f).exists()]

    with gr.Blocks(title="Facial expression recognition", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# Facial expression recognition\nSwin-SE-ResNet and friends: every face, 7 expressions.")
        banner = gr.Markdown(_model_banner(catalog, default))
        with gr.Tab("Image"):
            with gr.Row():
                with gr.Column():
                    image_in = UploadedImage(sources=["upload", "clipboard", "webcam"], type="filepath", label="Photo")
                    with gr.Row():
                        image_model = gr.Dropdown(names, value=default, label="Model")
                        align = gr.Checkbox(value=True, label="Level the eyes before classifying")
                        explain = gr.Checkbox(value=False, label="Show where the model looked (Grad-CAM)")
                    image_btn = gr.Button("Analyse", variant="primary")
                    gr.Examples(examples, inputs=[image_in], label="Examples (click one)")
                    gr.Markdown(CREDITS)
                with gr.Column():
                    image_out = gr.Image(label="Faces", format="jpeg", interactive=False, elem_id="faces-out")
                    face_label = gr.Label(num_top_classes=7, label="Selected face (click a crop below)")
                    gallery = gr.Gallery(label="Faces found", columns=6, height=160, object_fit="contain",
                                         format="jpeg", elem_id="faces-gallery")
                    heat_gallery = gr.Gallery(label="Where the model looked (Grad-CAM: red = most weight; "
                                              "one map per branch for Swin-SE-ResNet)", columns=4, height=200,
                                              object_fit="contain", format="jpeg", elem_id="heat-gallery")
                    json_out = gr.JSON(label="JSON (same schema as the CLI)")
            probs_state = gr.State([])
            image_btn.click(on_gpu(30)(lambda *a: analyse_image(catalog, *a)), [image_in, image_model, align, explain],
                            [image_out, gallery, face_label, json_out, probs_state, heat_gallery], api_name="predict")
            gallery.select(select_face, [probs_state], [face_label], api_visibility="private")

        with gr.Tab("Webcam"):
            gr.Markdown("Allow the camera, then press record: frames are analysed live, faces are tracked and "
                        "their labels smoothed. Nothing is stored.")
            with gr.Row():
                cam = gr.Image(sources=["webcam"], type="numpy", streaming=True, label="Camera", format="jpeg",
                               elem_id="cam-in")
                cam_out = gr.Image(label="Live result", format="jpeg", interactive=False, streaming=True,
                                   elem_id="cam-out")
            with gr.Row():
                cam_model = gr.Dropdown(names, value=LIVE_NAME if LIVE_NAME in names else default,
                                        label="Model (the stats below say what it costs a frame)")
                detect_every = gr.Slider(1, 5, value=2, step=1, label="Detect faces every k frames (track between)")
            cam_stats = gr.Markdown()
            session = gr.State(None)
            cam.stream(lambda *a: stream_frame(live_catalog, live_detector, *a),
                       [cam, session, cam_model, detect_every], [cam_out, session, cam_stats],
                       stream_every=0.04, time_limit=600, concurrency_limit=4, api_visibility="private")

        with gr.Tab("Video"):
            gr.Markdown(f"Upload a short video (at most {MAX_VIDEO_SECONDS} s are analysed, {MAX_FILE_SIZE}).")
            with gr.Row():
                with gr.Column():
                    video_in = gr.Video(sources=["upload"], label="Video")
                    video_model = gr.Dropdown(names, value=default, label="Model")
                    video_btn = gr.Button("Analyse video", variant="primary")
                with gr.Column():
                    video_out = gr.Video(label="Annotated video", interactive=False)
                    video_note = gr.Markdown()
            timeline = gr.LinePlot(x="time_s", y="probability", color="emotion", label="Main face over time",
                                   y_lim=[0, 1])
            video_csv = gr.File(label="Per-frame results (CSV)")
            video_btn.click(on_gpu(120)(lambda *a: analyse_video(catalog, *a)), [video_in, video_model],
                            [video_out, timeline, video_csv, video_note], api_name="video", concurrency_limit=1)

        with gr.Tab("Compare models"):
            with gr.Row():
                with gr.Column():
                    cmp_in = UploadedImage(sources=["upload", "clipboard"], type="filepath", label="Photo")
                    cmp_models = gr.CheckboxGroup(names, value=names, label="Models")
                    cmp_repo = gr.Textbox(label="Also a Hub model (owner/name)", placeholder="owner/fer-model")
                    cmp_btn = gr.Button("Compare", variant="primary")
                    gr.Examples(examples[:4], inputs=[cmp_in])
                cmp_out = gr.Image(label="Faces", format="jpeg", interactive=False)
            cmp_summary = gr.Dataframe(label="One row per face: each model's label and confidence "
                                       "(header: validation accuracy, latency here)", interactive=False)
            cmp_info = gr.Markdown()
            with gr.Accordion("Every face, model and probability", open=False):
                cmp_table = gr.Dataframe(interactive=False)
            cmp_btn.click(on_gpu(60)(lambda *a: compare_models(catalog, *a)), [cmp_in, cmp_models, cmp_repo],
                          [cmp_out, cmp_summary, cmp_table, cmp_info], api_name="compare")

        with gr.Tab("About"):
            gr.Markdown(ABOUT)
            gr.Markdown(CREDITS + "\n\n" + PRIVACY)
        demo.load(lambda: _model_banner(catalog, default), None, banner, api_visibility="private")
    return demo


def launch(demo: gr.Blocks | None = None, **kwargs) -> None:
    """Serve with the Space's settings; ``GRADIO_SERVER_PORT``/``GRADIO_SERVER_NAME`` are honoured."""
    demo = demo or build_demo()
    demo.queue(max_size=32, default_concurrency_limit=2).launch(
        max_file_size=MAX_FILE_SIZE, footer_links=["api"], show_error=False,
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"), **kwargs)
