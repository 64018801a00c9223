"""Make a trained run the embedded default: ``python -m training.embed runs/compact_fer2013``.

Writes the model card, then copies ``best/`` (weights, config, card, metrics, pictures) into
``fer_space/weights`` in one swap, after checking that it loads strictly and is small enough.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from fer_space.models import load_model
from fer_space.sources import EMBEDDED_DIR

from .card import write_card
from .checkpoint import swap_dir

MAX_BYTES = 20 * 2**20
FILES = ("model.safetensors", "config.json", "README.md", "metrics.json", "train_config.json", "curves.png",
         "confusion.png")


def embed(run_dir: Path, target: Path = EMBEDDED_DIR) -> Path:
    """Copy ``run_dir/best`` into ``target`` (the package's embedded model folder)."""
    write_card(run_dir, repo_hint="embedded")
    best = run_dir / "best"
    load_model(best)  # refuses anything that does not load strictly
    size = (best / "model.safetensors").stat().st_size
    if size > MAX_BYTES:
        raise SystemExit(f"error: {size / 2**20:.1f} MiB of weights; the embedded model must stay under 20 MiB")
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".weights."))
    tmp.chmod(0o755)
    for name in FILES:
        if (best / name).exists():
            shutil.copyfile(best / name, tmp / name)
    swap_dir(tmp, target)
    return target


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.embed", description=__doc__.split("\n\n")[0])
    p.add_argument("run_dir", type=Path)
    args = p.parse_args(argv)
    print(f"embedded {args.run_dir / 'best'} -> {embed(args.run_dir)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
