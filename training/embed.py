"""Ship a trained run inside the package: ``python -m training.embed runs/compact_fer2013 [--data CSV]``.

Without ``--name`` the run becomes the embedded default (``fer_space/embedded/fer_ensemble``); with ``--name NAME``
it is shipped beside it as ``embedded:NAME`` (``fer_space/embedded/NAME``), e.g. the seed's nano models.

With ``--data``, the metrics are measured again on the validation split the way the app runs the
model (one pass, no flip averaging; the training's flip-averaged accuracy is kept beside them) and
the model is calibrated there (``training.calibrate``: temperature and "unsure" threshold), and its
int8 activation ranges are measured on training faces (``training.quantize``).
Then the model card is written and ``best/`` (weights, config, card, metrics, pictures) is copied
into ``fer_space/embedded/fer_ensemble`` in one swap, after checking that it loads strictly and is small enough.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import safetensors.torch

from fer_space.models import FERClassifier, load_model
from fer_space.models.storage import WEIGHTS_NAME, dequantize_int8, quantize_int8
from fer_space.sources import DEFAULT_DIR, DISPLAY_NAMES, EMBEDDED, EMBEDDED_ROOT

from .calibrate import calibrate_folder
from .card import write_card
from .checkpoint import staged_dir
from .data import load_faces
from .evaluate import evaluate_arrays
from .quantize import quantize_model
from .quantize import write as store_int8

MAX_BYTES = 20 * 2**20
FILES = ("model.safetensors", "config.json", "README.md", "metrics.json", "train_config.json", "curves.png",
         "confusion.png", "reliability.png")


def remeasure(best: Path, data: str, model: FERClassifier | None = None) -> None:
    """Rewrite ``best/metrics.json`` with single-pass metrics of ``model`` (default: the one in ``best``)
    on the same split (flip TTA kept aside)."""
    old = json.loads((best / "metrics.json").read_text())
    model = model or load_model(best)
    faces = load_faces(data, size=max(48, model.img_size), grey=model.in_chans == 1).split(old["split"])
    new = {**{k: old[k] for k in ("epoch", "split", "members") if k in old}, "data": data, "tta_flip": False,
           **evaluate_arrays(model, faces, tta_flip=False)}
    if old.get("tta_flip"):
        new["accuracy_with_flip_tta"] = old["accuracy"]
        new["f1_weighted_with_flip_tta"] = old["f1_weighted"]
    else:  # measured again: keep the flip-averaged figures of the first measurement
        new |= {k: old[k] for k in ("accuracy_with_flip_tta", "f1_weighted_with_flip_tta") if k in old}
    (best / "metrics.json").write_text(json.dumps(new, indent=2))


def embed(run_dir: Path, target: Path = DEFAULT_DIR, data: str | None = None, int8: bool = False) -> Path:
    """Copy ``run_dir/best`` into ``target`` (the package's embedded model folder); with ``int8`` the
    shipped weights are int8 (conv and linear, a scale per output channel) and measured as rounded.
    The run's own ``best/`` keeps its float32 weights."""
    best = run_dir / "best"
    model = load_model(best)  # refuses anything that does not load strictly
    state = quantize_int8(model.state_dict()) if int8 else None
    if state is not None:
        model.load_state_dict(dequantize_int8(state))
    if data:
        remeasure(best, data, model)
        split = json.loads((best / "metrics.json").read_text())["split"]
        calibrate_folder(best, data, split, model=model)
        model.int8 = None  # measured afresh, on the weights as shipped
        store_int8(best, model, quantize_model(model, data, split))
    source = EMBEDDED if target == DEFAULT_DIR else f"{EMBEDDED}:{target.name}"
    write_card(run_dir, repo_hint=source, title=DISPLAY_NAMES.get(source))
    with staged_dir(target) as tmp:
        tmp.chmod(0o755)
        for name in FILES:
            if (best / name).exists():
                shutil.copyfile(best / name, tmp / name)
        if state is not None:
            safetensors.torch.save_file(state, tmp / WEIGHTS_NAME, {"format": "pt"})
        size = (tmp / WEIGHTS_NAME).stat().st_size
        if size > MAX_BYTES:
            raise SystemExit(f"error: {size / 2**20:.1f} MiB of weights; a shipped model must stay under 20 MiB "
                             "(try --int8)")
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.embed", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--data", help="measure the metrics again on this data set's validation split (single pass)")
    p.add_argument("--name", help="ship as embedded:NAME in fer_space/embedded/NAME instead of replacing the default")
    p.add_argument("--int8", action="store_true", help="ship int8 conv/linear weights (a quarter of float32's size)")
    args = p.parse_args(argv)
    target = EMBEDDED_ROOT / args.name if args.name else DEFAULT_DIR
    print(f"embedded {args.run_dir / 'best'} -> {embed(args.run_dir, target, data=args.data, int8=args.int8)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
