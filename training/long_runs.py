"""The Swin-SE-ResNet long schedule: its four runs, started, resumed, packed and tabled from one place.

The runs take more CPU than one machine's day, and a machine keeps nothing outside the repository. So each
run trains in ``RUNS_DIR/NAME`` (``$FER_RUNS`` or ``~/fer-runs``) and ``pack`` copies what resuming needs
into ``training/long_runs/NAME``, committed: ``last.pt`` with every tensor in bfloat16 (a third of its
size; rounding a weight to bfloat16 moves it by at most 0.4%, less than one optimizer step at these
learning rates, and ``--resume`` casts everything back), ``best/`` and the logs. ``resume`` unpacks a
packed run into an empty run folder and goes on with ``--resume``.

    python -m training.long_runs resume resnet_small_long swin_small_long   # two runs, one core each
    python -m training.long_runs pack                                      # before the machine goes
    python -m training.long_runs table                                     # progress, as Markdown
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import torch

from training.checkpoint import load_state, save_state

RUNS_DIR = Path(os.environ.get("FER_RUNS", Path.home() / "fer-runs"))
PACKED_DIR = Path(__file__).parent / "long_runs"
CONFIGS = Path(__file__).parent / "configs"
KEPT = ("command.txt", "config.json", "metrics.jsonl", "curves.png", "teacher_probs.npz")


def _best(name: str) -> str:
    return str(RUNS_DIR / name / "best")


RUNS: dict[str, list[str]] = {
    "resnet_small_long": ["--config", str(CONFIGS / "resnet_small_long_cpu.yaml")],
    "swin_small_long": ["--config", str(CONFIGS / "swin_small_long_cpu.yaml")],
    "swin_se_resnet_small_long": [
        "--config", str(CONFIGS / "swin_se_resnet_small_long_cpu.yaml"),
        "--init-branch", f"swin={_best('swin_small_long')}", "--init-branch", f"resnet={_best('resnet_small_long')}",
    ],
    "resnet_small_long_control": [
        "--config", str(CONFIGS / "swin_se_resnet_small_long_cpu.yaml"), "--model", "resnet_small",
        "--init-branch", f"resnet={_best('resnet_small_long')}",
    ],
}


def unpack(name: str, runs_dir: Path = RUNS_DIR, packed_dir: Path = PACKED_DIR) -> bool:
    """Copy the packed run ``name`` into its run folder if that holds no checkpoint; False when it does,
    or when nothing is packed."""
    packed, run = packed_dir / name, runs_dir / name
    if not (packed / "last.pt").exists() or (run / "last.pt").exists():
        return False
    shutil.copytree(packed, run, dirs_exist_ok=True)
    return True


def start(names: list[str]) -> None:
    """Start (or resume) each run in the background under ``nice``, one core each; output to ``log.txt``."""
    for name in names:
        run = RUNS_DIR / name
        run.mkdir(parents=True, exist_ok=True)
        if unpack(name):
            print(f"{name}: unpacked {PACKED_DIR / name} into {run}")
        argv = ["nice", "-n", "10", sys.executable, "-m", "training.train", *RUNS[name], "--output", str(run),
                "--resume"]
        with open(run / "log.txt", "a") as log:
            proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                    cwd=Path(__file__).parent.parent)
        print(f"{name}: pid {proc.pid}, log {run / 'log.txt'}")


def pack(names: list[str], runs_dir: Path = RUNS_DIR, packed_dir: Path = PACKED_DIR) -> None:
    """Copy each run's resume state into ``training/long_runs/NAME`` (``last.pt`` in bfloat16)."""
    for name in names:
        run, packed = runs_dir / name, packed_dir / name
        if not (run / "last.pt").exists():
            continue
        packed.mkdir(parents=True, exist_ok=True)
        for file in KEPT:
            if (run / file).exists():
                shutil.copy2(run / file, packed / file)
        if (run / "best").exists():
            shutil.copytree(run / "best", packed / "best", dirs_exist_ok=True)
        state = load_state(run / "last.pt")
        save_state(_to_bfloat16(state), packed / "last.pt")
        print(f"{name}: epoch {state['epoch'] + 1} packed into {packed}")


def _to_bfloat16(value):
    if isinstance(value, torch.Tensor):
        return value.to(torch.bfloat16) if value.is_floating_point() and value.ndim else value
    if isinstance(value, dict):
        return {k: _to_bfloat16(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_bfloat16(v) for v in value]
    return value


def _read(folder: Path, file: str) -> str | None:
    return (folder / file).read_text() if (folder / file).exists() else None


def table(names: list[str]) -> str:
    """Markdown: each run's epochs, best PublicTest accuracy (and its epoch), and the command that resumes it."""
    rows = ["| run | epoch | best PublicTest (epoch) | resume |", "|---|---|---|---|"]
    for name in names:
        folder = RUNS_DIR / name if (RUNS_DIR / name / "metrics.jsonl").exists() else PACKED_DIR / name
        history = [json.loads(line) for line in (_read(folder, "metrics.jsonl") or "").splitlines()]
        config = _read(folder, "config.json")
        epochs = json.loads(config)["epochs"] if config else "?"
        best = max(history, key=lambda r: r["val_accuracy"], default=None)
        best_text = f"{best['val_accuracy']:.2%} ({best['epoch']})" if best else "-"
        command = f"`python -m training.long_runs resume {name}`"
        rows.append(f"| {name} | {len(history)}/{epochs} | {best_text} | {command} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m training.long_runs", description=__doc__.split("\n\n")[0])
    p.add_argument("action", choices=["resume", "pack", "table"])
    p.add_argument("runs", nargs="*", help=f"default: all of {', '.join(RUNS)}")
    args = p.parse_args(argv)
    names = args.runs or list(RUNS)
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        p.error(f"unknown run {unknown[0]!r}; choose from {', '.join(RUNS)}")
    if args.action == "resume":
        start(names)
    elif args.action == "pack":
        pack(names)
    else:
        print(table(names))


if __name__ == "__main__":
    main()
