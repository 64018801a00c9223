"""Measure a model's int8 activation ranges: ``python -m training.quantize --model FOLDER --data CSV [--write]``.

Runs the model's float ONNX graph over ``--faces`` random training faces (seed 0) and keeps each
activation's min and max (ONNX Runtime's MinMax calibrator), quantizes the graph with them
(``fer_space.runtime.int8``), and scores the float32 and int8 graphs on ``--split``. With ``--write`` the
ranges and the int8 graph's output on a fixed input go into the folder's ``config.json`` (``"int8"``),
which makes the app run the model in int8 on CPU, and the scores into ``metrics.json`` (``"int8"``).
Check the speed before shipping (``python -m bench.embedded_models`` shows both): int8 pays for
convolutions and large matrices, not for the tiny attention blocks of the nano Swin models, where it
measured slower than float32.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from fer_space.labels import EMOTIONS
from fer_space.models import FERClassifier, load_model
from fer_space.models.storage import CONFIG_NAME
from fer_space.runtime import int8 as int8_graphs
from fer_space.runtime.backends import OnnxRunner, cached_export

from .checkpoint import update_json
from .data import load_faces
from .evaluate import canonical_probs, input_batches
from .metrics import classification_metrics


class FaceBatches:
    """ONNX Runtime's calibration reader over uint8 faces, as the model's input, 64 at a time."""

    def __init__(self, model: FERClassifier, images: np.ndarray) -> None:
        self.batches = (batch.numpy() for batch in input_batches(model, images, 64))

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {"x": batch}


def measure_ranges(model: FERClassifier, images: np.ndarray) -> dict[str, list[float]]:
    """Each activation's [min, max] over ``images`` in the model's prepared float graph."""
    from onnxruntime.quantization import quantize_static

    float_graph = cached_export(model)
    if float_graph is None:
        raise OSError("the ONNX cache is not writable (set FER_CACHE)")
    with tempfile.TemporaryDirectory(prefix="fer-quantize-") as tmp:
        prepared, cache = Path(tmp) / "prepared.onnx", Path(tmp) / "ranges.json"
        int8_graphs.prepare(float_graph, prepared)
        quantize_static(str(prepared), str(Path(tmp) / "int8.onnx"), FaceBatches(model, images),
                        calibration_cache_path=cache, **int8_graphs.quantize_options())
        data = json.loads(cache.read_text())["data"]
    return {name: [float(np.ravel(d["lowest"]["data"])[0]), float(np.ravel(d["highest"]["data"])[0])]
            for name, d in data.items()}


def quantize_model(model: FERClassifier, data: str, split: str = "PublicTest", faces: int = 512) -> dict:
    """Measure the ranges on ``faces`` training faces, set ``model.int8``, and score float32 and int8."""
    arrays = load_faces(data, size=max(48, model.img_size), grey=model.in_chans == 1)
    train, val = arrays.split("Training"), arrays.split(split)
    chosen = np.random.default_rng(0).choice(len(train.images), min(faces, len(train.images)), replace=False)
    ranges = measure_ranges(model, train.images[np.sort(chosen)])
    model.int8 = {"faces": len(chosen), "method": "minmax", "ranges": ranges}
    runner = OnnxRunner(model, int8=True)
    model.int8["check"] = int8_graphs.check_output(runner.session, model)
    scores = {}
    for name, run in (("float32", OnnxRunner(model)), ("int8", runner)):
        predicted = canonical_probs(model, val.images, runner=run).argmax(1)
        m = classification_metrics(val.labels, predicted, EMOTIONS)
        scores[name] = {k: round(m[k], 4) for k in ("accuracy", "f1_weighted", "f1_macro")}
    return {"split": split, "n": len(val.labels), "calibration_faces": len(chosen), **scores}


def write(folder: Path, model: FERClassifier, result: dict) -> None:
    """Store the ranges and record in ``config.json`` and the scores in ``metrics.json``."""
    update_json(folder / CONFIG_NAME, int8=model.int8)
    update_json(folder / "metrics.json", int8=result)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.quantize", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, type=Path, help="a model folder (a run's best/, fer_space/embedded/NAME)")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz) or a folder data set")
    p.add_argument("--split", default="PublicTest", help="where to score float32 and int8")
    p.add_argument("--faces", type=int, default=512, help="training faces to measure the ranges on (default 512)")
    p.add_argument("--write", action="store_true", help="store the ranges in the model folder")
    args = p.parse_args(argv)
    try:
        model = load_model(args.model)
        model.int8 = None  # measured afresh
        result = quantize_model(model, args.data, args.split, args.faces)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.write:
        write(args.model, model, result)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
