"""Combine trained models into one ensemble checkpoint, measured like a run:
``python -m training.build_ensemble SOURCE... [--members I ...] [--flip] --output runs/NAME``.

A SOURCE is a training run (its ``best/`` becomes a member) or a shipped model folder such as
``fer_space/embedded/compact_cnn`` or ``fer_space/embedded/fer_ensemble`` (the model, or each member of a shipped
ensemble, becomes a member again with the training config and command it was recorded with, and an
ensemble's member with its learning curve), so the default can grow or change members without the
earlier runs. ``--members`` keeps only those members (indices into the list of all of them, in order),
e.g. one member of the default with ``--flip`` as a fast model.
The members' weights are copied into one :class:`~fer_space.models.Ensemble`. The members and the
ensemble are measured on the members' validation split, single pass as the app runs them.
``OUTPUT`` then looks like a training run (``best/`` with weights, config and metrics;
``config.json`` with each member's training config and command, and their learning curves;
``command.txt``; ``curves.png``),
so ``python -m training.embed OUTPUT`` ships it like any other run. With ``--fp16`` the weights are
stored in float16 (half the bytes; loading casts them back to float32), with ``--int8`` the conv and
linear weights in int8 with a scale per output channel (a quarter); the ensemble is measured with
the rounded weights, as it ships.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fer_space.models import Ensemble, FERClassifier, load_model
from fer_space.models.storage import dequantize_int8, quantize_int8

from .checkpoint import save_model_dir
from .data import load_faces
from .evaluate import evaluate_arrays
from .plots import plot_member_curves


@dataclass
class Member:
    """A trained model and what is known of its training."""

    model: FERClassifier
    train_config: dict  # the run's TrainConfig, plus "run" and "command" (None when unknown)
    epoch: int | None
    history: list[dict] = field(default_factory=list)  # per-epoch records, when the run is at hand

    @property
    def run(self) -> str:
        return self.train_config["run"]


def members_of(source: Path) -> list[Member]:
    """One member for a training run or a shipped model; the recorded members for a shipped ensemble."""
    if (source / "best").is_dir():
        if not (source / "config.json").is_file():
            raise ValueError(f"{source} is not a training run (no config.json)")
        command_path, history_path = source / "command.txt", source / "metrics.jsonl"
        command = command_path.read_text().strip() if command_path.is_file() else None
        config = {"run": str(source), **json.loads((source / "config.json").read_text()), "command": command}
        history = ([json.loads(line) for line in history_path.read_text().splitlines() if line]
                   if history_path.is_file() else [])
        epoch = json.loads((source / "best" / "metrics.json").read_text()).get("epoch")
        return [Member(load_model(source / "best"), config, epoch, history)]
    if (source / "train_config.json").is_file() and (source / "metrics.json").is_file():
        model = load_model(source)
        recorded = json.loads((source / "train_config.json").read_text())
        metrics = json.loads((source / "metrics.json").read_text())
        if isinstance(model, Ensemble):
            histories = recorded.get("histories", [[]] * len(model.members))
            infos = zip(model.members, recorded["members"], metrics["members"], histories, strict=True)
            return [Member(member, {"command": None, **config}, info.get("epoch"), history)
                    for member, config, info, history in infos]
        return [Member(model, {"run": recorded.get("output", str(source)), "command": None, **recorded},
                       metrics.get("epoch"))]
    raise ValueError(f"{source} is neither a training run (with best/) nor a shipped model folder")


def build_ensemble(sources: list[Path], output: Path, *, data: str | None = None, flip: bool = False,
                   fp16: bool = False, int8: bool = False, command: str | None = None,
                   keep: list[int] | None = None) -> dict:
    """Write the ensemble of the members of ``sources`` (only those at ``keep``, when given) to ``output``
    and return its validation metrics."""
    if fp16 and int8:
        raise ValueError("choose one of fp16 and int8")
    members = [member for source in sources for member in members_of(source)]
    if keep is not None:
        if not keep or any(not 0 <= i < len(members) for i in keep):
            raise ValueError(f"--members must be indices from 0 to {len(members) - 1}, got {keep}")
        members = [members[i] for i in keep]
    splits = {member.train_config["val_split"] for member in members}
    if len(splits) != 1:
        raise ValueError(f"the members were selected on different splits: {sorted(splits)}")
    split, data = splits.pop(), data or members[0].train_config["data"]
    ensemble = Ensemble.of([member.model for member in members], flip=flip)
    if fp16:  # measure the weights as they will load: rounded to float16, computed in float32
        ensemble.half().float()
    if int8:
        ensemble.load_state_dict(dequantize_int8(quantize_int8(ensemble.state_dict())))
    faces = load_faces(data, size=max(48, ensemble.img_size), grey=ensemble.in_chans == 1).split(split)
    measured = []
    for member in members:
        single = evaluate_arrays(member.model, faces)
        measured.append({"run": member.run, "epoch": member.epoch, "accuracy": single["accuracy"],
                         "f1_weighted": single["f1_weighted"],
                         "accuracy_with_flip_tta": evaluate_arrays(member.model, faces, tta_flip=True)["accuracy"]})
    metrics = {"split": split, "data": data, "tta_flip": False, **evaluate_arrays(ensemble, faces),
               "members": measured}

    output.mkdir(parents=True, exist_ok=True)
    save_model_dir(ensemble.half() if fp16 else ensemble, output / "best",
                   {"metrics.json": json.dumps(metrics, indent=2)}, int8=int8)
    names = sorted({member.train_config["model"] for member in members})
    train_config = {"model": f"{'+'.join(names)}_ensemble", "flip": flip, "fp16": fp16, "int8": int8,
                    "val_split": split, "data": data, "members": [member.train_config for member in members],
                    "histories": [member.history for member in members]}
    (output / "config.json").write_text(json.dumps(train_config, indent=2))
    commands = [member.train_config["command"] for member in members if member.train_config["command"]]
    (output / "command.txt").write_text("\n".join([*commands, *([command] if command else [])]) + "\n")
    histories = {member.run: member.history for member in members if member.history}
    if histories:
        plot_member_curves(histories, output / "curves.png")
    return metrics


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.build_ensemble", description=__doc__.split("\n\n")[0])
    p.add_argument("sources", type=Path, nargs="+",
                   help="training run folders (each with best/) or embedded model folders (fer_space/embedded/NAME)")
    p.add_argument("--output", type=Path, required=True, help="run folder to write the ensemble to")
    p.add_argument("--members", type=int, nargs="+", help="keep only these members (0 = the first)")
    p.add_argument("--flip", action="store_true", help="each member also reads the mirrored face")
    p.add_argument("--fp16", action="store_true", help="store the weights in float16 (half the size)")
    p.add_argument("--int8", action="store_true", help="store conv/linear weights in int8 (a quarter of the size)")
    p.add_argument("--data", help="data set to measure on (default: the first member's)")
    args = p.parse_args(argv)
    command = " ".join(["python -m training.build_ensemble", *(sys.argv[1:] if argv is None else argv)])
    try:
        metrics = build_ensemble(args.sources, args.output, data=args.data, flip=args.flip, fp16=args.fp16,
                                 int8=args.int8, command=command, keep=args.members)
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
