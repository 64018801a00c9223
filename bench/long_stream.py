"""Long webcam session: ``python -m bench.long_stream [--frames 2000] [--json]``.

Feeds frames through the app's stream function (as Gradio would, one session state) and reports
RSS growth, latency at the start and at the end, and the tracker's size. A face moves in and out
of the picture so tracks are created and dropped all along.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

from fer_space.app.catalog import DEFAULT_NAME, Entry, ModelCatalog
from fer_space.app.handlers import stream_frame
from fer_space.images import load_image
from fer_space.stream import stream_detector

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def frames(n: int):
    face = load_image(ROOT / "examples" / "skimage_astronaut.png")[:480, :480]
    for i in range(n):
        canvas = np.zeros((480, 640, 3), np.uint8)
        phase = i % 400  # 300 frames visible (moving), 100 frames away: tracks end and start again
        if phase < 300:
            x = 80 + int(60 * np.sin(phase / 20))
            canvas[:, x : x + 480] = face
        yield canvas


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.long_stream", description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=2000)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    catalog = ModelCatalog([Entry(DEFAULT_NAME, "embedded")])
    detector = stream_detector()
    state, latencies, rss, max_tracks = None, [], [], 0
    for i, frame in enumerate(frames(args.frames)):
        t = time.perf_counter()
        _, state, _ = stream_frame(catalog, detector, frame, state, DEFAULT_NAME, 2)
        latencies.append((time.perf_counter() - t) * 1e3)
        max_tracks = max(max_tracks, len(state.tracker.tracks))
        if i in (100, args.frames - 1):
            rss.append(rss_mb())
    # Compare like with like: the last window at the same phase of the 400-frame cycle as the first.
    last = 100 + 400 * ((args.frames - 300) // 400)
    head, tail = latencies[100:300], latencies[last : last + 200]
    report = {
        "frames": args.frames,
        "rss_mb_after_100": round(rss[0], 1),
        "rss_mb_at_end": round(rss[1], 1),
        "rss_growth_mb": round(rss[1] - rss[0], 1),
        "latency_p50_ms_frames_100_300": round(float(np.median(head)), 2),
        f"latency_p50_ms_frames_{last}_{last + 200}": round(float(np.median(tail)), 2),
        "max_tracks_held": max_tracks,
        "track_ids_issued": state.tracker._next_id - 1,
    }
    print(json.dumps(report, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
