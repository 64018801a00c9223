"""Combine trained runs into one ensemble checkpoint, measured like a run:
``python -m training.ensemble runs/A runs/B [--flip] --output runs/NAME``.

Each ``RUN/best`` becomes a member (its weights copied into one
:class:`~fer_space.models.Ensemble`). The members and the ensemble are measured on the members'
validation split, single pass as the app runs them. ``OUTPUT`` then looks like a training run
(``best/`` with weights, config and metrics; ``config.json`` with the members' training configs;
``command.txt`` with the commands that trained them; ``curves.png``), so
``python -m training.embed OUTPUT`` ships it like any other run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from fer_space.models import Ensemble, load_model

from .checkpoint import save_model_dir
from .data import load_faces
from .evaluate import evaluate_arrays
from .plots import plot_member_curves


def _train_config(run: Path) -> dict:
    path = run / "config.json"
    if not path.is_file():
        raise ValueError(f"{run} is not a training run (no config.json)")
    return json.loads(path.read_text())


def build_ensemble(runs: list[Path], output: Path, *, data: str | None = None, flip: bool = False,
                   command: str | None = None) -> dict:
    """Write the ensemble of ``runs`` to ``output`` and return its validation metrics."""
    configs = [_train_config(run) for run in runs]
    splits = {cfg["val_split"] for cfg in configs}
    if len(splits) != 1:
        raise ValueError(f"the members were selected on different splits: {sorted(splits)}")
    split, data = splits.pop(), data or configs[0]["data"]
    models = [load_model(run / "best") for run in runs]
    ensemble = Ensemble.of(models, flip=flip)
    faces = load_faces(data, size=max(48, ensemble.img_size), grey=ensemble.in_chans == 1).split(split)
    members = []
    for run, model in zip(runs, models, strict=True):
        epoch = json.loads((run / "best" / "metrics.json").read_text()).get("epoch")
        single = evaluate_arrays(model, faces)
        members.append({"run": str(run), "epoch": epoch, "accuracy": single["accuracy"],
                        "f1_weighted": single["f1_weighted"],
                        "accuracy_with_flip_tta": evaluate_arrays(model, faces, tta_flip=True)["accuracy"]})
    metrics = {"split": split, "data": data, "tta_flip": False, **evaluate_arrays(ensemble, faces),
               "members": members}

    output.mkdir(parents=True, exist_ok=True)
    save_model_dir(ensemble, output / "best", {"metrics.json": json.dumps(metrics, indent=2)})
    names = sorted({cfg["model"] for cfg in configs})
    train_config = {"model": f"{'+'.join(names)}_ensemble", "flip": flip, "val_split": split, "data": data,
                    "members": [{"run": str(run), **cfg} for run, cfg in zip(runs, configs, strict=True)]}
    (output / "config.json").write_text(json.dumps(train_config, indent=2))
    commands = [(run / "command.txt").read_text().strip() for run in runs if (run / "command.txt").is_file()]
    (output / "command.txt").write_text("\n".join([*commands, *([command] if command else [])]) + "\n")
    histories = {str(run): [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines() if line]
                 for run in runs if (run / "metrics.jsonl").is_file()}
    if histories:
        plot_member_curves(histories, output / "curves.png")
    return metrics


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.ensemble", description=__doc__.split("\n\n")[0])
    p.add_argument("runs", type=Path, nargs="+", help="training run folders (each with best/)")
    p.add_argument("--output", type=Path, required=True, help="run folder to write the ensemble to")
    p.add_argument("--flip", action="store_true", help="each member also reads the mirrored face")
    p.add_argument("--data", help="data set to measure on (default: the first member's)")
    args = p.parse_args(argv)
    command = " ".join(["python -m training.ensemble", *(sys.argv[1:] if argv is None else argv)])
    try:
        metrics = build_ensemble(args.runs, args.output, data=args.data, flip=args.flip, command=command)
    except (OSError, ValueError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for member in metrics["members"]:
        print(f"member {member['run']}: accuracy {member['accuracy']:.4f} "
              f"(flip TTA {member['accuracy_with_flip_tta']:.4f})")
    print(f"ensemble -> {args.output / 'best'}: {metrics['split']} accuracy {metrics['accuracy']:.4f}, "
          f"weighted F1 {metrics['f1_weighted']:.4f}, macro F1 {metrics['f1_macro']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
