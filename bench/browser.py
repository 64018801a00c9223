"""The webcam tab as a visitor sees it: ``python -m bench.browser [--model NAME ...] [--seconds S] [--json]``.

Serves ``app.py``, opens the Webcam tab in headless Debian Chromium whose fake camera plays a 640x480,
30 FPS video of a face with the frame number stamped as black and white blocks along its bottom edge,
presses record, and samples the page every 10 ms: the camera preview's frame number and the returned
frame's. For each new returned frame, the lag is how many camera frames have passed since the frame it
shows was captured (x 33.3 ms): capture to display, the browser's own share included. Reports, per model,
the displayed FPS, lag p50/p95, and whether the lag grows over the run (frames queued rather than dropped).
The browser runs on the same machine as the server, as in the issue's target.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

from fer_space.app.catalog import DEFAULT_NAME, LIVE_NAME
from fer_space.images import load_image

from .pipeline import EXAMPLES, pct, serve_app

FPS = 30
LOOP = 300  # camera frames before the video repeats (10 s): lags are read modulo this
BITS = 12
BLOCK_W, BLOCK_H = 44, 36  # one marker block, BITS bit blocks, one marker block, along the bottom edge
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def stamped_camera(path: Path) -> Path:
    """A Y4M video Chromium plays as its camera: the astronaut, each frame carrying its number."""
    canvas = np.zeros((480, 640, 3), np.uint8)
    canvas[: 480 - BLOCK_H - 4, 64:576] = load_image(EXAMPLES / "skimage_astronaut.png")[: 480 - BLOCK_H - 4]
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W640 H480 F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for n in range(LOOP):
            frame = canvas.copy()
            # White start marker, the bits (most significant first), black end marker: the order of the
            # markers tells a mirrored frame from a plain one.
            for i, on in enumerate([1, *((n >> (BITS - 1 - b)) & 1 for b in range(BITS)), 0]):
                x = 12 + i * BLOCK_W
                frame[480 - BLOCK_H :, x : x + BLOCK_W] = 255 if on else 0
            f.write(b"FRAME\n" + cv2.cvtColor(frame, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path


# Runs in the page: decode the stamp of the camera preview (<video>) and of the returned frame (<img>)
# every 10 ms for `seconds`; returns the samples [time ms, camera frame, shown frame, shown frame
# changed] and the number of frames shown.
SAMPLER = """async ([seconds, bits, blockW, blockH]) => {
  const canvas = document.createElement('canvas'); canvas.width = 640; canvas.height = 480;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const decode = (el) => {
    const w = el.videoWidth || el.naturalWidth, h = el.videoHeight || el.naturalHeight;
    if (!w || !h) return null;
    ctx.drawImage(el, 0, 0, 640, 480);
    const level = (i, mirrored) => {
      const x = 12 + i * blockW + blockW / 2, at = mirrored ? 640 - x : x;
      return ctx.getImageData(at - 4, 480 - blockH / 2 - 4, 8, 8).data.filter((_, k) => k % 4 === 1)
        .reduce((a, b) => a + b, 0) / 64 > 128;
    };
    for (const mirrored of [false, true]) {
      if (!level(0, mirrored) || level(bits + 1, mirrored)) continue;
      let n = 0;
      for (let b = 1; b <= bits; b++) n = n * 2 + (level(b, mirrored) ? 1 : 0);
      return n;
    }
    return null;
  };
  // Every new frame shown, counted as it happens (the sampling below may miss some).
  let shownFrames = 0, lastSeen = null;
  const out = document.querySelector('#cam-out');
  new MutationObserver(() => {
    const img = out.querySelector('img');
    if (img && img.src && img.src !== lastSeen) { lastSeen = img.src; shownFrames++; }
  })
    .observe(out, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
  const samples = []; let lastSrc = null; const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    const video = document.querySelector('#cam-in video');
    const img = document.querySelector('#cam-out img');
    const cam = video ? decode(video) : null;
    let shown = null, changed = false;
    if (img && img.complete && img.src && img.src !== lastSrc) {
      changed = lastSrc !== null; lastSrc = img.src; shown = decode(img);
    }
    samples.push([performance.now() - t0, cam, shown, changed]);
    await new Promise(r => setTimeout(r, 10));
  }
  return {samples, shownFrames};
}"""


def summarise(samples: list, shown_frames: int, seconds: float) -> dict:
    """Displayed FPS (every change of the shown frame) and capture-to-display lag (from the samples)."""
    shown = [(t, cam, n) for t, cam, n, changed in samples if changed and cam is not None and n is not None]
    lags = [((cam - n) % LOOP) * 1000 / FPS for _, cam, n in shown]
    if not lags:
        return {"frames_sampled": 0, "note": "no stamped frame came back"}
    half = len(lags) // 2
    return {"frames_sampled": len(lags), "fps_shown": round(shown_frames / seconds, 1),
            "lag_p50_ms": pct(lags, 50), "lag_p95_ms": pct(lags, 95),
            "lag_first_half_p50_ms": pct(lags[:half] or lags, 50), "lag_second_half_p50_ms": pct(lags[half:], 50)}


def measure(url: str, camera: Path, model: str, seconds: float, warmup: float) -> dict:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("no chromium: apt-get install chromium")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium,
                                     args=[*BROWSER_ARGS, f"--use-file-for-fake-video-capture={camera}"])
        page = browser.new_context(permissions=["camera"], viewport={"width": 1280, "height": 900}).new_page()
        page.goto(url, wait_until="domcontentloaded")
        page.get_by_role("tab", name="Webcam").click()
        picker = page.get_by_label("Model (the stats below say what it costs a frame)")
        picker.click()
        page.get_by_role("option", name=model, exact=True).click()
        page.locator("text=Click to Access Webcam >> visible=true").first.click()
        page.locator("button:has-text('Record'):visible").first.click()
        page.get_by_text("FPS ·").wait_for(timeout=120_000)
        page.wait_for_timeout(warmup * 1000)
        sampled = page.evaluate(SAMPLER, [seconds, BITS, BLOCK_W, BLOCK_H])
        stats = page.get_by_text("FPS ·").inner_text()
        browser.close()
    return {**summarise(sampled["samples"], sampled["shownFrames"], seconds), "server_stats": stats}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.browser", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", help="webcam model(s) to measure (default: the webcam's default "
                   "and the default ensemble)")
    p.add_argument("--seconds", type=float, default=20.0, help="measured seconds per model")
    p.add_argument("--warmup", type=float, default=5.0, help="seconds streamed before measuring")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    models = args.model or [LIVE_NAME, DEFAULT_NAME]
    report = {"cpus": os.cpu_count(), "camera": f"640x480 at {FPS} FPS, one face", "models": {}}
    with tempfile.TemporaryDirectory() as tmp, open(Path(tmp) / "app.log", "w") as log:
        camera = stamped_camera(Path(tmp) / "camera.y4m")
        proc, url = serve_app({"FER_COMPARE_REPOS": ""}, log)
        try:
            for model in models:
                report["models"][model] = measure(url, camera, model, args.seconds, args.warmup)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
