"""Evaluate a model on a face data set (faces used as crops, no detector).

``python -m training.evaluate --model SOURCE --data PATH [--split NAME] [--tta] [--json]``
SOURCE is anything ``Predictor.from_pretrained`` takes (default: the embedded default model).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch

from fer_space.labels import EMOTIONS, canonical_order
from fer_space.models import FERClassifier
from fer_space.preprocess import eval_transform
from fer_space.runtime.backends import BACKENDS, make_runner

from .data import FaceArrays, load_faces
from .metrics import classification_metrics


def input_batches(model: FERClassifier, images: np.ndarray, batch_size: int = 256) -> Iterator[torch.Tensor]:
    """uint8 faces as the model's input tensors (its eval transform), ``batch_size`` at a time."""
    transform = eval_transform(model)
    for start in range(0, len(images), batch_size):
        yield torch.stack([transform(img) for img in images[start : start + batch_size]])


@torch.inference_mode()
def predict_probs(
    model: FERClassifier, images: np.ndarray, *, device: torch.device | str = "cpu", batch_size: int = 256,
    tta_flip: bool = False, runner: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> np.ndarray:
    """Softmax probabilities ``(N, classes)`` for uint8 faces; ``tta_flip`` averages with the mirror.
    ``runner`` runs the model instead of PyTorch eager (e.g. ONNX Runtime, ``fer_space.runtime.backends``)."""
    was_training = model.training
    model.eval()
    forward = runner or model
    out = []
    for batch in input_batches(model, images, batch_size):
        batch = batch.to(device)
        probs = forward(batch).float().softmax(1)
        if tta_flip:
            probs = (probs + forward(batch.flip(3)).float().softmax(1)) / 2
        out.append(probs.cpu())
    model.train(was_training)
    return torch.cat(out).numpy()


def canonical_probs(model: FERClassifier, images: np.ndarray, **kwargs) -> np.ndarray:
    """``predict_probs`` (same keyword arguments) with the columns in the canonical ``EMOTIONS`` order."""
    return predict_probs(model, images, **kwargs)[:, canonical_order(model.labels)]


def evaluate_arrays(
    model: FERClassifier, faces: FaceArrays, *, device: torch.device | str = "cpu", tta_flip: bool = False,
    runner: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> dict:
    """Metrics of ``model`` (run by ``runner``, default PyTorch) on ``faces``, whose labels are
    canonical indices."""
    # Model outputs follow the model's own id2label; results are in the canonical order.
    predicted = canonical_probs(model, faces.images, device=device, tta_flip=tta_flip, runner=runner).argmax(1)
    return classification_metrics(faces.labels, predicted, EMOTIONS)


def main(argv: list[str] | None = None) -> int:
    from fer_space.predictor import pick_device
    from fer_space.sources import resolve_and_load

    p = argparse.ArgumentParser(prog="python -m training.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="Hub repo id, local folder or 'embedded' (default)")
    p.add_argument("--revision", default=None)
    p.add_argument("--data", required=True, help="fer2013.csv(.gz) or a folder data set")
    p.add_argument("--split", default=None, help="e.g. PublicTest; default: every row")
    p.add_argument("--tta", action="store_true", help="average with the horizontally flipped face")
    p.add_argument("--backend", default="torch", choices=BACKENDS,
                   help="how to run it: torch (default), onnx (float32), int8, or auto (as the app does)")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    p.add_argument("--confusion-png", default=None, help="write the normalised confusion matrix here")
    args = p.parse_args(argv)
    try:
        device = pick_device("auto")
        model, source = resolve_and_load(args.model, revision=args.revision, device=str(device))
        faces = load_faces(args.data, size=max(48, model.img_size))
        if args.split:
            faces = faces.split(args.split)
        runner, _ = make_runner(model, args.backend, device)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:  # RuntimeError: an int8 graph that failed its check
        print(f"error: {exc}", file=sys.stderr)
        return 2
    metrics = evaluate_arrays(model, faces, device=device, tta_flip=args.tta, runner=runner)
    if args.confusion_png:
        from .plots import plot_confusion

        split = args.split or "all rows"
        title = f"{source.location} on {Path(args.data).name} {split} (acc {metrics['accuracy']:.3f})"
        plot_confusion(metrics["confusion_matrix"], EMOTIONS, args.confusion_png, title)
    if args.json:
        print(json.dumps(metrics))
    else:
        print(f"{source.location}: accuracy {metrics['accuracy']:.4f}, weighted F1 {metrics['f1_weighted']:.4f}, "
              f"macro F1 {metrics['f1_macro']:.4f} on {metrics['n']} faces")
        for name, m in metrics["per_class"].items():
            print(f"  {name:9s} P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f} n {m['support']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
