"""Calibrate a model's confidence: ``python -m training.calibrate --model FOLDER --data CSV [--write]``.

Fits one temperature ``T`` on the validation split (the probabilities become ``softmax(logits / T)``,
by minimising the negative log-likelihood; where that temperature would raise the expected calibration
error, the one between 1 and it with the lowest error, see ``choose_temperature``), reports the
expected calibration error (15 equal-width bins) and the negative log-likelihood before and after,
and chooses the "unsure" threshold: the lowest calibrated top probability at which the faces
answered (those at or above it) are still read right ``--target`` of the time. With ``--write`` the
temperature and threshold go into the folder's ``config.json`` (``"calibration"``, applied by every
Predictor), the figures into ``metrics.json``, a reliability diagram into ``reliability.png``, and
the model card is written again. Temperature and threshold are fitted and measured on the same split
(one number each, on 3,589 faces for FER2013).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from fer_space.confidence import Calibration
from fer_space.models import FERClassifier, load_model
from fer_space.models.storage import CONFIG_NAME

from .checkpoint import update_json
from .data import load_faces
from .evaluate import canonical_probs
from .metrics import confidence_bins

BINS = 15


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels``."""
    x, y = torch.as_tensor(logits, dtype=torch.float64), torch.as_tensor(labels)
    log_t = torch.zeros((), dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.LBFGS([log_t], lr=0.1, max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(x / log_t.exp(), y)
        loss.backward()
        return loss

    optimizer.step(closure)
    return float(log_t.detach().exp())


def choose_temperature(logits: np.ndarray, labels: np.ndarray, steps: int = 50) -> float:
    """The NLL-fitted temperature, or, where it raises the expected calibration error, the temperature
    on the way from 1 to it with the lowest error. NLL is convex in 1 / T, so no temperature on that
    way has a higher NLL than T = 1: neither figure gets worse than the raw model's."""
    fitted = fit_temperature(logits, labels)
    x = torch.as_tensor(logits, dtype=torch.float64)

    def ece(t: float) -> float:
        return expected_calibration_error((x / t).softmax(1).numpy(), labels)

    if ece(fitted) <= ece(1.0):
        return fitted
    way = np.exp(np.linspace(0.0, np.log(fitted), steps + 1))
    return float(min(way, key=ece))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Mean |accuracy - confidence| over equal-width confidence bins, weighted by their faces."""
    confidence, right, which = confidence_bins(probs, labels, bins)
    return float(sum(abs(right[which == b].mean() - confidence[which == b].mean()) * (which == b).mean()
                     for b in range(bins) if (which == b).any()))


def negative_log_likelihood(probs: np.ndarray, labels: np.ndarray) -> float:
    return float(-np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None)).mean())


def unsure_threshold(probs: np.ndarray, labels: np.ndarray, target: float) -> dict:
    """The lowest top probability whose answered faces (top >= it) reach ``target`` accuracy."""
    confidence, right = probs.max(1), probs.argmax(1) == labels
    order = np.argsort(-confidence)
    running = np.cumsum(right[order]) / np.arange(1, len(order) + 1)
    reaching = np.nonzero(running >= target)[0]
    cut = float(confidence[order][reaching[-1]]) if len(reaching) else 1.0
    answered = confidence >= cut
    return {"unsure_below": round(cut, 4), "target_accuracy": target, "coverage": round(float(answered.mean()), 4),
            "answered_accuracy": round(float(right[answered].mean()), 4) if answered.any() else None}


def calibrate(
    model: FERClassifier, images: np.ndarray, labels: np.ndarray, target: float = 0.8
) -> tuple[dict, np.ndarray, np.ndarray]:
    """Temperature, unsure threshold and the figures before and after, on these faces (single pass,
    from the model's raw outputs), with the probabilities before and after."""
    logits = np.log(np.clip(canonical_probs(model, images), 1e-12, None))
    before = torch.as_tensor(logits).softmax(1).numpy()
    temperature = choose_temperature(logits, labels)
    after = Calibration(temperature).probabilities(torch.as_tensor(logits)).numpy()
    return {
        "temperature": round(temperature, 4), "n": len(labels), "bins": BINS,
        "ece_before": round(expected_calibration_error(before, labels), 4),
        "ece_after": round(expected_calibration_error(after, labels), 4),
        "nll_before": round(negative_log_likelihood(before, labels), 4),
        "nll_after": round(negative_log_likelihood(after, labels), 4),
        "accuracy": round(float((after.argmax(1) == labels).mean()), 4),
        **unsure_threshold(after, labels, target),
    }, before, after


def write(folder: Path, result: dict, before: np.ndarray, after: np.ndarray, labels: np.ndarray, split: str) -> None:
    """Store the calibration in ``folder`` (config, metrics, reliability diagram, card)."""
    from .card import rewrite_card
    from .plots import plot_reliability

    plot_reliability(before, after, labels, folder / "reliability.png", BINS)
    update_json(folder / CONFIG_NAME,
                calibration=Calibration(result["temperature"], result["unsure_below"]).to_dict())
    metrics = update_json(folder / "metrics.json", calibration={"split": split, **result})
    if (folder / "README.md").exists() and "per_class" in metrics:
        from fer_space.sources import DISPLAY_NAMES, embedded_source

        source = embedded_source(folder)
        rewrite_card(folder, repo_hint=source, title=DISPLAY_NAMES.get(source or ""))


def calibrate_folder(folder: Path, data: str, split: str = "PublicTest", target: float = 0.8,
                     store: bool = True, model: FERClassifier | None = None) -> dict:
    """Calibrate the model in ``folder`` (or ``model``, e.g. its weights as shipped) on ``data``'s
    ``split``; ``store`` writes the result into ``folder``."""
    model = model or load_model(folder)
    faces = load_faces(data, size=max(48, model.img_size), grey=model.in_chans == 1).split(split)
    result, before, after = calibrate(model, faces.images, faces.labels, target)
    if store:
        write(folder, result, before, after, faces.labels, split)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.calibrate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, type=Path, help="a model folder (a run's best/, fer_space/embedded/NAME)")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz) or a folder data set")
    p.add_argument("--split", default="PublicTest")
    p.add_argument("--target", type=float, default=0.8, help="accuracy of the answered faces (default 0.8)")
    p.add_argument("--write", action="store_true", help="store the calibration in the model folder")
    args = p.parse_args(argv)
    try:
        result = calibrate_folder(args.model, args.data, args.split, args.target, store=args.write)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
