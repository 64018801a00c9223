"""Speed and memory of the whole pipeline on this machine: ``python -m bench.pipeline [--json]``.

Measures (medians unless said): the machine's matmul peak; the image path per stage on the example
photos; the webcam path on 640x480 frame sequences with one and several faces (FPS, p50/p95); each
classifier's throughput at batch 1/4/16 on PyTorch and ONNX Runtime with its FLOP floor; cold starts
(CLI to first prediction, app to first served request); peak RSS with the full Swin-SE-ResNet
loaded. Uses the embedded default model; full-size models have random weights (speed only).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

from fer_space import Predictor
from fer_space.images import load_image
from fer_space.models import create_model
from fer_space.models.base import count_params, dummy_input
from fer_space.render import annotate
from fer_space.runtime.backends import make_runner
from fer_space.sources import DISPLAY_NAMES, LIVE_SOURCE
from fer_space.stream import StreamSession, stream_detector

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PHOTOS = ["skimage_astronaut.png", "singnet_laos.jpg", "max_group.jpeg", "singnet_classroom_in_tanzania.jpg"]


def timed(fn, repeat: int, warmup: int = 1) -> list[float]:
    """Wall times in ms of ``repeat`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1e3)
    return out


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


def peak_gflops() -> float:
    """fp32 GFLOP/s of a 2048^3 matrix product with the current thread count (best of 5)."""
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    best = min(timed(lambda: a @ b, 5)) / 1e3
    return round(2 * 2048**3 / best / 1e9, 1)


def model_flops(model) -> int:
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(dummy_input(model))
    return counter.get_total_flops()


def image_path(predictor: Predictor) -> dict:
    """Per-stage ms on each example photo (median of 5)."""
    out = {}
    for name in PHOTOS:
        data = (EXAMPLES / name).read_bytes()
        rgb = load_image(data)
        faces = predictor.detector.detect(rgb)
        crops = predictor.crops(rgb, faces)
        results = predictor.predict(rgb)
        stages = {
            "decode": timed(lambda d=data: load_image(d), 5),
            "detect": timed(lambda r=rgb: predictor.detector.detect(r), 5),
            "crop_align": timed(lambda r=rgb, f=faces: predictor.crops(r, f), 5),
            "classify": timed(lambda c=crops: predictor.classify_faces(c), 5),
            "render": timed(lambda r=rgb, f=results: annotate(r, f), 5),
            "total": timed(lambda d=data: predictor.predict(d), 5),
        }
        row = {k: pct(v, 50) for k, v in stages.items()}
        row["faces"] = len(faces)
        row["size"] = f"{rgb.shape[1]}x{rgb.shape[0]}"
        row["total_over_stage_floor"] = round(row["total"] / (row["detect"] + row["classify"]), 2)
        out[name] = row
    return out


def frame_sequence(photo: str, n: int, pan: int = 2, noise: float = 0.0) -> list[np.ndarray]:
    """``n`` 640x480 frames of a photo (scaled to fit) panning sideways by ``pan`` px a frame, with
    Gaussian sensor noise of ``noise`` grey levels (fixed seed)."""
    rgb = load_image(EXAMPLES / photo)
    scale = min(600 / rgb.shape[1], 480 / rgb.shape[0])
    rgb = cv2.resize(rgb, (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)), interpolation=cv2.INTER_AREA)
    canvas = np.zeros((480, 640 + 2 * n, 3), np.uint8)
    top, left = (480 - rgb.shape[0]) // 2, n + (640 - rgb.shape[1]) // 2
    canvas[top : top + rgb.shape[0], left : left + rgb.shape[1]] = rgb
    rng = np.random.default_rng(0)
    frames = []
    for i in range(n):
        frame = canvas[:, i * pan : i * pan + 640].astype(np.float32)
        if noise:
            frame += rng.normal(0, noise, frame.shape).astype(np.float32)
        frames.append(np.ascontiguousarray(frame.clip(0, 255).astype(np.uint8)))
    return frames


STREAMS = (("skimage_astronaut.png", "one_face"), ("singnet_laos.jpg", "two_faces"), ("max_group.jpeg", "group"))
# A moving face (2 px a frame) and a still one with webcam-like sensor noise.
MOTIONS = {"moving": {"pan": 2}, "still": {"pan": 0, "noise": 2.0}}


def webcam_path(predictor: Predictor, frames: int, streams: tuple = STREAMS, every: tuple = (1, 2)) -> dict:
    """FPS and latency of the stream function (detect every k, track, classify the faces that changed,
    draw, JPEG encode), for moving and still faces."""
    out = {}
    detector = stream_detector()
    for photo, label in streams:
        for motion, kwargs in MOTIONS.items():
            seq = frame_sequence(photo, frames, **kwargs)
            for k in every:
                session = StreamSession(predictor, detector, detect_every=k)
                session.process(seq[0])
                lat, classified = [], 0
                start = time.perf_counter()
                for f in seq:
                    t = time.perf_counter()
                    result = session.process(f)
                    cv2.imencode(".jpg", result.annotated, [cv2.IMWRITE_JPEG_QUALITY, 80])
                    lat.append((time.perf_counter() - t) * 1e3)
                    classified += result.classified
                fps = len(seq) / (time.perf_counter() - start)
                out[f"{label}_{motion}_detect_every_{k}"] = {
                    "fps": round(fps, 1), "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "faces": len(result.tracks),
                    "classified_per_frame": round(classified / len(seq), 2)}
    return out


def classifiers(gflops: float) -> dict:
    out = {}
    specs = [("compact_cnn", (1, 4, 16)), ("swin_se_resnet_nano", (1, 4, 16)), ("swin_se_resnet", (1,)),
             ("swin_t", (1,)), ("resnet50", (1,))]
    for name, batches in specs:
        model = create_model(name).eval()
        flops = model_flops(model)
        row = {"params_m": round(count_params(model) / 1e6, 2), "gflops_per_face": round(flops / 1e9, 3)}
        for backend in ("torch", "onnx"):
            runner, _ = make_runner(model, backend, torch.device("cpu"))
            for b in batches:
                x = dummy_input(model, b).normal_()
                reps = 10 if model.img_size <= 64 else 3
                with torch.inference_mode():
                    ms = pct(timed(lambda r=runner, x=x: r(x), reps), 50)
                row[f"{backend}_b{b}_ms_per_face"] = round(ms / b, 2)
                row[f"{backend}_b{b}_floor_ratio"] = round((ms / b) / (flops / gflops / 1e6), 1)
        out[name] = row
    return out


def cold_start_cli() -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fer_space", "predict", str(EXAMPLES / "skimage_astronaut.png"), "--json"],
                   cwd=ROOT, check=True, capture_output=True)
    return round(time.perf_counter() - t, 2)


def serve_app(env: dict[str, str], log=subprocess.DEVNULL, timeout: float = 180) -> tuple[subprocess.Popen, str]:
    """``app.py`` in a subprocess on a free local port, offline, with ``env`` added; returns it and its URL
    once it serves (polled every 0.1 s), or raises RuntimeError if it exits or does not serve in time."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "GRADIO_SERVER_PORT": str(port), "GRADIO_SERVER_NAME": "127.0.0.1", "HF_HUB_OFFLINE": "1",
           **env}
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url, start = f"http://127.0.0.1:{port}/", time.perf_counter()
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return proc, url
        except OSError:
            if proc.poll() is not None or time.perf_counter() - start > timeout:
                proc.kill()
                raise RuntimeError(f"app.py did not serve within {timeout:.0f} s") from None
            time.sleep(0.1)


def cold_start_app() -> dict:
    t = time.perf_counter()
    proc, url = serve_app({"FER_COMPARE_REPOS": "none=none/none"}, timeout=120)
    try:
        served = time.perf_counter() - t
        from gradio_client import Client, handle_file

        client = Client(url, verbose=False)
        photo, model = handle_file(str(EXAMPLES / "skimage_astronaut.png")), DISPLAY_NAMES["embedded"]
        client.predict(photo, model, True, False, api_name="/predict")
        first = time.perf_counter() - t
        roundtrips = timed(lambda: client.predict(photo, model, True, False, api_name="/predict"), 5, 0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return {"app_serving_s": round(served, 2), "app_first_prediction_s": round(first, 2),
            "image_endpoint_roundtrip_p50_ms": pct(roundtrips, 50)}


def peak_rss_full_model() -> dict:
    """Peak RSS (MB) of a process that loads the full Swin-SE-ResNet and classifies a batch of 8: first
    with an empty ONNX cache (the export runs), then again with the export cached."""
    # VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over from the forking parent (this
    # benchmark, which has held the full model itself), VmHWM starts afresh with the exec'd process.
    code = ("import torch; torch.manual_seed(0); from fer_space import Predictor; "
            "from fer_space.models import create_model; p = Predictor(create_model('swin_se_resnet'), device='cpu'); "
            "from fer_space.models.base import dummy_input; p.runner(dummy_input(p.model, 8)); "
            "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))")
    out = {}
    with tempfile.TemporaryDirectory() as cache:
        for key in ("first_load", "cached_export"):
            run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, capture_output=True, text=True,
                                 env={**os.environ, "FER_CACHE": cache})
            out[key] = round(int(run.stdout.split()[-1]) / 1024, 1)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.pipeline", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--frames", type=int, default=60, help="frames per webcam sequence")
    p.add_argument("--skip-cold", action="store_true", help="skip the cold-start and RSS subprocesses")
    p.add_argument("--paths-only", action="store_true", help="only the image and webcam paths")
    args = p.parse_args(argv)
    torch.set_num_threads(min(2, os.cpu_count() or 2))
    predictor = Predictor.from_pretrained(device="cpu")
    live = Predictor.from_pretrained(LIVE_SOURCE, device="cpu", detector=predictor.detector)
    report = {"machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                          "peak_gflops_fp32": peak_gflops(), "model": predictor.model.architecture,
                          "backend": predictor.backend}}
    report["image_path_ms"] = image_path(predictor)
    # The default and the webcam's default side by side, in one run.
    report["webcam"] = {DISPLAY_NAMES[source]: webcam_path(p, args.frames)
                        for source, p in (("embedded", predictor), (LIVE_SOURCE, live))}
    if args.paths_only:
        print(json.dumps(report, indent=2) if args.json else to_markdown(report))
        return 0
    torch.manual_seed(0)  # fixed random weights: the ONNX export is cached across runs
    full = Predictor(create_model("swin_se_resnet"), device="cpu", detector=predictor.detector)
    report["webcam_full_model"] = webcam_path(full, args.frames // 2, STREAMS[:1], every=(2,))
    del full
    report["classifiers"] = classifiers(report["machine"]["peak_gflops_fp32"])
    if not args.skip_cold:
        report["cold_start"] = {"cli_first_prediction_s": cold_start_cli(), **cold_start_app()}
        report["peak_rss_mb_full_model_b8"] = peak_rss_full_model()
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(to_markdown(report))
    return 0


def to_markdown(report: dict) -> str:
    lines = [f"peak fp32 matmul: {report['machine']['peak_gflops_fp32']} GFLOP/s on "
             f"{report['machine']['torch_threads']} threads; default backend {report['machine']['backend']}", "",
             "| photo | size | faces | decode | detect | crop | classify | render | total ms |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in report["image_path_ms"].items():
        lines.append(f"| {name} | {r['size']} | {r['faces']} | {r['decode']} | {r['detect']} | {r['crop_align']} | "
                     f"{r['classify']} | {r['render']} | {r['total']} |")
    lines += ["", "| model | webcam 640x480 | faces | FPS | p50 ms | p95 ms | classified a frame |",
              "|---|---|---|---|---|---|---|"]
    runs = [(m, k, v) for m, rows in report["webcam"].items() for k, v in rows.items()]
    runs += [("Swin-SE-ResNet (full, random weights)", k, v) for k, v in report.get("webcam_full_model", {}).items()]
    lines += [f"| {m} | {k} | {v['faces']} | {v['fps']} | {v['p50_ms']} | {v['p95_ms']} | {v['classified_per_frame']} |"
              for m, k, v in runs]
    if "classifiers" not in report:
        return "\n".join(lines)
    lines += ["", "| classifier | params M | GFLOPs | torch b1 ms | onnx b1 ms | onnx b1 / floor |",
              "|---|---|---|---|---|---|"]
    lines += [f"| {k} | {v['params_m']} | {v['gflops_per_face']} | {v['torch_b1_ms_per_face']} | "
              f"{v['onnx_b1_ms_per_face']} | {v['onnx_b1_floor_ratio']} |" for k, v in report["classifiers"].items()]
    if "cold_start" in report:
        rss = report["peak_rss_mb_full_model_b8"]
        lines += ["", f"cold start: {json.dumps(report['cold_start'])}; peak RSS with Swin-SE-ResNet loaded, batch 8: "
                  f"{rss['first_load']} MB on first load (ONNX export), {rss['cached_export']} MB with it cached"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
