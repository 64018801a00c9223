"""The app's tabs (Image, Webcam, Video, Compare models, About) wired to their handlers.

``build_demo()`` returns the Blocks; ``launch()`` serves it with the Space's settings.
"""

from __future__ import annotations

import os
from pathlib import Path

import gradio as gr

from ..stream import stream_detector
from . import handlers
from .catalog import LIVE_NAME, ModelCatalog
from .upload import path_upload
from .zerogpu import on_gpu, zerogpu_module

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_FILES = ["skimage_astronaut.png", "max_group.jpeg", "max_happy-baby.jpeg", "max_surprised.jpeg",
                 "max_sad-baby.jpeg", "max_angry.jpg", "singnet_laos.jpg", "singnet_classroom_in_tanzania.jpg"]
MAX_FILE_SIZE = "50mb"
ABOUT = (Path(__file__).parent / "about.md").read_text()

CREDITS = """**Example photos**: NASA (Eileen Collins, public domain; no endorsement implied); Pexels photos via
IBM's MAX-Facial-Emotion-Classifier (CC0 / Pexels License); pixnio, Pixabay, publicdomainpictures.net and
pxhere photos via singnet/face-services (public domain / no attribution required). Full list: `examples/LICENSES.md`."""

PRIVACY = """**Privacy**: images, webcam frames and videos are processed on this server and kept nowhere but in
the temporary cache (Gradio's, and the app's result files beside it), which is deleted after an hour."""


def build_demo(catalog: ModelCatalog | None = None) -> gr.Blocks:
    """The whole app. ``catalog`` defaults to the embedded model plus the configured Hub models."""
    catalog = catalog or ModelCatalog()
    default = catalog.default_name()
    # Local models load before the app serves, so the first request never waits for an ONNX export;
    # Hub models are tried once, in the background.
    catalog.preload([n for n, e in catalog.entries.items() if e.local]).join()
    catalog.preload([n for n, e in catalog.entries.items() if not e.local])
    # The webcam stays on the CPU on ZeroGPU: a GPU call per frame would spend the visitor's quota.
    live_catalog = catalog if zerogpu_module() is None else catalog.on_cpu()
    live_detector = stream_detector(str(live_catalog.device))
    names = catalog.names()
    live_default = LIVE_NAME if LIVE_NAME in names else default
    examples = [[str(EXAMPLES_DIR / f)] for f in EXAMPLE_FILES if (EXAMPLES_DIR / f).exists()]

    with gr.Blocks(title="Facial expression recognition", analytics_enabled=False, delete_cache=(3600, 3600)) as demo:
        gr.Markdown("# Facial expression recognition\nSwin-SE-ResNet and friends: every face, 7 expressions.")
        with gr.Tab("Image"):
            with gr.Row():
                with gr.Column():
                    image_in = path_upload(sources=["upload", "clipboard", "webcam"], label="Photo")
                    image_model = gr.Dropdown(names, value=default, label="Model", elem_id="image-model")
                    image_line = gr.Markdown(handlers.model_banner(catalog, default))
                    with gr.Row():
                        align = gr.Checkbox(value=False, label="Level the eyes before classifying (the models "
                                            "were trained on faces as they come)")
                        explain = gr.Checkbox(value=False, label="Show where the model looked (Grad-CAM)")
                    image_btn = gr.Button("Analyse", variant="primary")
                    image_examples = gr.Examples(examples, inputs=[image_in], label="Examples (click one to analyse)",
                                                 elem_id="image-examples")
                    gr.Markdown(CREDITS)
                with gr.Column():
                    image_out = gr.Image(label="Faces", show_label=False, format="jpeg", interactive=False,
                                         elem_id="faces-out")
                    faces_list = gr.Dataframe(headers=["face", "reads", "warnings"], label="Faces, numbered as on the "
                                              "image", interactive=False, wrap=True, max_height=1200,
                                              elem_id="faces-table")
                    face_label = gr.Label(num_top_classes=7, label="Selected face (click a crop below)")
                    gallery = gr.Gallery(label="Faces found", columns=4, height="fit-content", object_fit="contain",
                                         format="jpeg", elem_id="faces-gallery")
                    heat_gallery = gr.Gallery(label="Where the model looked (Grad-CAM: red = most weight; "
                                              "one map per branch for Swin-SE-ResNet)", columns=4, height="fit-content",
                                              object_fit="contain", format="jpeg", elem_id="heat-gallery")
                    json_out = gr.JSON(label="JSON (the CLI's record)", elem_id="record-json")
            analyse = on_gpu(30)(lambda *a: handlers.analyse_image(catalog, *a))
            image_inputs = [image_in, image_model, align, explain]
            image_outputs = [image_out, gallery, face_label, json_out, heat_gallery]
            image_btn.click(analyse, image_inputs, image_outputs, api_name="predict").then(
                handlers.faces_table, [json_out], [faces_list], api_visibility="private")
            image_examples.load_input_event.then(analyse, image_inputs, image_outputs, api_visibility="private").then(
                handlers.faces_table, [json_out], [faces_list], api_visibility="private")
            gallery.select(handlers.select_face, [json_out], [face_label], api_visibility="private")
            image_model.change(lambda name: handlers.model_banner(catalog, name), [image_model], [image_line],
                               api_visibility="private")

        with gr.Tab("Webcam"):
            gr.Markdown("Allow the camera, then press record: frames are analysed live, faces are tracked and "
                        "their labels smoothed. Nothing is stored.")
            with gr.Row():
                cam = gr.Image(sources=["webcam"], type="numpy", streaming=True, label="Camera", format="jpeg",
                               elem_id="cam-in")
                cam_out = gr.Image(label="Live result", format="jpeg", interactive=False, streaming=True,
                                   elem_id="cam-out")
            with gr.Row():
                cam_model = gr.Dropdown(names, value=live_default, label="Model (the stats below say what it costs a "
                                        "frame)", scale=2)
                detect_every = gr.Slider(1, 5, value=2, step=1, label="Detect faces every k frames (track between)")
            cam_line = gr.Markdown(handlers.model_banner(live_catalog, live_default), elem_id="cam-model-line")
            cam_stats = gr.Markdown(elem_id="cam-stats")
            session = gr.State(None)
            cam.stream(lambda *a: handlers.stream_frame(live_catalog, live_detector, *a),
                       [cam, session, cam_model, detect_every], [cam_out, session, cam_stats],
                       stream_every=0.04, time_limit=600, concurrency_limit=4, show_progress="hidden",
                       api_visibility="private")
            cam_model.change(lambda name: handlers.model_banner(live_catalog, name), [cam_model], [cam_line],
                             api_visibility="private")

        with gr.Tab("Video"):
            gr.Markdown(f"Upload a short video (at most {handlers.MAX_VIDEO_SECONDS} s are analysed, "
                        f"{MAX_FILE_SIZE}).")
            with gr.Row():
                with gr.Column():
                    # A file input, not gr.Video: a browser cannot play every codec (OpenCV's mp4v), and
                    # gr.Video then shows an error on a file we read well. The preview is a still frame.
                    video_in = gr.File(file_types=["video"], label="Video", elem_id="video-in")
                    video_preview = gr.Image(label="First frame", interactive=False, format="jpeg", height=240)
                    video_info = gr.Markdown()
                    video_model = gr.Dropdown(names, value=default, label="Model")
                    video_btn = gr.Button("Analyse video", variant="primary")
                with gr.Column():
                    video_out = gr.Video(label="Annotated video", interactive=False)
                    video_note = gr.Markdown()
            timeline = gr.LinePlot(x="time_s", y="probability", color="emotion", label="Main face over time",
                                   y_lim=[0, 1])
            video_csv = gr.File(label="Per-frame results (CSV)")
            video_in.upload(handlers.preview_video, [video_in], [video_preview, video_info], api_visibility="private")
            video_btn.click(on_gpu(120)(lambda *a: handlers.analyse_video(catalog, *a)), [video_in, video_model],
                            [video_out, timeline, video_csv, video_note], api_name="video", concurrency_limit=1)

        with gr.Tab("Compare models"):
            with gr.Row():
                with gr.Column():
                    cmp_in = path_upload(sources=["upload", "clipboard"], label="Photo", elem_id="compare-in")
                    cmp_models = gr.CheckboxGroup(names, value=[n for n in names if catalog.entries[n].embedded],
                                                  label="Models")
                    if catalog.missing_note():
                        gr.Markdown(catalog.missing_note())
                    cmp_repo = gr.Textbox(label="Also a Hub model (owner/name)", placeholder="owner/fer-model")
                    cmp_btn = gr.Button("Compare", variant="primary")
                    gr.Examples(examples[:4], inputs=[cmp_in])
                cmp_out = gr.Image(label="Faces", format="jpeg", interactive=False)
            cmp_summary = gr.Dataframe(label="One row per face: each model's label and confidence "
                                       "(header: validation accuracy, latency here)", interactive=False, wrap=True,
                                       elem_id="compare-summary")
            cmp_info = gr.Markdown()
            with gr.Accordion("Every face, model and probability", open=False):
                cmp_table = gr.Dataframe(interactive=False)
            cmp_btn.click(on_gpu(60)(lambda *a: handlers.compare_models(catalog, *a)), [cmp_in, cmp_models, cmp_repo],
                          [cmp_out, cmp_summary, cmp_table, cmp_info], api_name="compare")

        with gr.Tab("About"):
            gr.Markdown(ABOUT)
            gr.Markdown(CREDITS + "\n\n" + PRIVACY)
        demo.load(lambda: handlers.model_banner(catalog, default), None, image_line, api_visibility="private")
    return demo


def launch(demo: gr.Blocks | None = None, **kwargs) -> None:
    """Serve with the Space's settings; ``GRADIO_SERVER_PORT``/``GRADIO_SERVER_NAME`` are honoured."""
    demo = demo or build_demo()
    demo.queue(max_size=32, default_concurrency_limit=2).launch(
        max_file_size=MAX_FILE_SIZE, footer_links=["api"], show_error=False,
        server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"), **kwargs)
