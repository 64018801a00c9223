"""The models shipped inside the package, side by side: ``python -m bench.embedded_models [--json]``.

One row per shipped model (the embedded default and ``fer_space/embedded/*``, e.g. the seed's nano
comparison): its measured PublicTest metrics (``metrics.json``, single pass in float32, with flip
averaging, and in int8 as the app runs it on CPU), parameters, GMACs per face, and CPU latency per face
at batch 1 on ONNX Runtime in float32 and on the backend the app uses (int8 where the model has
ranges), median of 50 calls. Re-measure the metrics with
``python -m training.evaluate --model embedded:NAME --data ... --split PublicTest --json``.
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from fer_space import Predictor
from fer_space.models.base import count_params, dummy_input
from fer_space.runtime.backends import make_runner
from fer_space.sources import embedded_dir, embedded_models

from .pipeline import model_flops, pct, timed


def measure(source: str) -> dict:
    """One shipped model's row."""
    predictor = Predictor.from_pretrained(source, device="cpu")
    model = predictor.model
    metrics = predictor.source.metrics  # metrics.json, read once by the loader
    train = json.loads((embedded_dir(source) / "train_config.json").read_text())
    x = dummy_input(model, 1).normal_()
    float32, _ = make_runner(model, "onnx", torch.device("cpu"))
    with torch.inference_mode():
        ms = pct(timed(lambda: predictor.runner(x), 50, warmup=3), 50)
        float_ms = pct(timed(lambda: float32(x), 50, warmup=3), 50)
    int8 = metrics.get("int8", {}).get("int8", {})
    return {
        "source": source, "architecture": model.architecture, "model": train.get("model"),
        "accuracy": round(metrics["accuracy"], 4), "f1_weighted": round(metrics["f1_weighted"], 4),
        "f1_macro": round(metrics["f1_macro"], 4), "accuracy_flip_tta": metrics.get("accuracy_with_flip_tta"),
        "accuracy_int8": int8.get("accuracy"), "split": metrics["split"], "n": metrics["n"],
        # an ensemble: its members' best epochs, run lengths and seeds
        "best_epoch": metrics.get("epoch") or "+".join(str(m["epoch"]) for m in metrics.get("members", [])),
        "epochs": train.get("epochs") or "+".join(str(m["epochs"]) for m in train.get("members", [])),
        "seed": train.get("seed", [m["seed"] for m in train.get("members", [])]),
        "params_m": round(count_params(model) / 1e6, 2), "gmacs": round(model_flops(model) / 2e9, 3),
        "cpu_ms_per_face": ms, "backend": predictor.backend, "cpu_ms_per_face_float32": float_ms,
    }


def to_markdown(rows: list[dict]) -> str:
    lines = ["| model | PublicTest acc | weighted F1 | macro F1 | acc (flip TTA) | acc (int8) | params M | GMACs | "
             "CPU ms/face float32 | CPU ms/face as run | best epoch / run |", "|---" * 11 + "|"]
    for r in rows:
        tta, int8 = (f"{100 * r[k]:.2f}%" if r[k] else "-" for k in ("accuracy_flip_tta", "accuracy_int8"))
        lines.append(f"| `{r['source']}` ({r['model']}) | {100 * r['accuracy']:.2f}% | {100 * r['f1_weighted']:.2f}% | "
                     f"{100 * r['f1_macro']:.2f}% | {tta} | {int8} | {r['params_m']} | {r['gmacs']} | "
                     f"{r['cpu_ms_per_face_float32']} | {r['cpu_ms_per_face']} ({r['backend']}) | "
                     f"{r['best_epoch']} / {r['epochs']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.embedded_models", description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print JSON instead of a Markdown table")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = [measure(source) for source in embedded_models()]
    print(json.dumps(rows, indent=2) if args.json else to_markdown(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
