"""Several requests at once on one process: ``python -m bench.concurrency [--json]``.

Gradio serves requests from a thread pool. This runs 1, 2 and 4 client threads, each calling
``Predictor.predict`` on a photo in a loop for ``--seconds``, under three settings, each in a fresh
process:

- ``gate``: the process-wide inference gate on (``fer_space.runtime.lock``), 2 threads per call (shipped);
- ``free``: gate off, 2 threads per call: concurrent calls oversubscribe the cores;
- ``single``: gate off, 1 thread per call: concurrent calls share the cores, one alone uses one.

Prints requests/s and p50/p95 latency per setting and client count.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time

import numpy as np

SETTINGS = {"gate": (True, 2), "free": (False, 2), "single": (False, 1)}
CLIENTS = (1, 2, 4)


def run_setting(setting: str, model: str, photo: str, seconds: float) -> dict:
    """In this process: the figures of one setting for every client count."""
    import torch

    from fer_space import Predictor
    from fer_space.images import load_image
    from fer_space.runtime.lock import INFERENCE

    gate, threads = SETTINGS[setting]
    torch.set_num_threads(threads)
    INFERENCE.enabled = gate
    predictor = Predictor.from_pretrained(model, device="cpu")
    rgb = load_image(photo)
    for _ in range(3):
        predictor.predict(rgb)

    def client(stop: float, latencies: list[float]) -> None:
        while time.perf_counter() < stop:
            t = time.perf_counter()
            predictor.predict(rgb)
            latencies.append((time.perf_counter() - t) * 1e3)

    out = {}
    for n in CLIENTS:
        latencies: list[list[float]] = [[] for _ in range(n)]
        start = time.perf_counter()
        workers = [threading.Thread(target=client, args=(start + seconds, lat)) for lat in latencies]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        wall = time.perf_counter() - start
        flat = [x for lat in latencies for x in lat]
        out[n] = {"requests_per_s": round(len(flat) / wall, 1), "p50_ms": round(float(np.percentile(flat, 50)), 1),
                  "p95_ms": round(float(np.percentile(flat, 95)), 1)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.concurrency", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="embedded", help="a shipped model, local folder or Hub repo id")
    p.add_argument("--photo", default="examples/singnet_laos.jpg")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--json", action="store_true")
    p.add_argument("--setting", choices=SETTINGS, help=argparse.SUPPRESS)  # the child process
    args = p.parse_args(argv)
    if args.setting:
        print(json.dumps(run_setting(args.setting, args.model, args.photo, args.seconds)))
        return 0
    report = {}
    for setting in SETTINGS:
        child = subprocess.run([sys.executable, "-m", "bench.concurrency", "--setting", setting, "--model", args.model,
                                "--photo", args.photo, "--seconds", str(args.seconds)],
                               capture_output=True, text=True, check=True)
        report[setting] = json.loads(child.stdout.strip().splitlines()[-1])
    if args.json:
        print(json.dumps({"model": args.model, "photo": args.photo, "settings": report}, indent=2))
        return 0
    print(f"{args.model} on {args.photo}, {args.seconds:.0f} s per point")
    print("| setting | clients | requests/s | p50 ms | p95 ms |\n|---|---|---|---|---|")
    for setting, rows in report.items():
        for n, r in rows.items():
            print(f"| {setting} | {n} | {r['requests_per_s']} | {r['p50_ms']} | {r['p95_ms']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
