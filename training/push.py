"""Push a trained checkpoint folder to the Hub: ``python -m training.push RUN_OR_MODEL_DIR REPO_ID``.

Uploads ``model.safetensors``, ``config.json``, the model card, ``metrics.json`` and the pictures in
one commit. A failed push changes nothing locally and prints the command to retry.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError

from .card import write_card

PUSHED = ("model.safetensors", "config.json", "README.md", "metrics.json", "train_config.json", "curves.png",
          "confusion.png")


def push_run(path: Path, repo_id: str, *, private: bool = False, revision: str | None = None) -> int:
    """Push ``path`` (a run folder with ``best/``, or a model folder); 0 on success, 1 on failure."""
    path = Path(path)
    run_dir, model_dir = (path, path / "best") if (path / "best").is_dir() else (None, path)
    retry = f"python -m training.push {path} {repo_id}" + (" --private" if private else "") + (
        f" --revision {revision}" if revision else "")
    try:
        if run_dir is not None:
            write_card(run_dir, repo_hint=repo_id)
        api = HfApi()
        api.create_repo(repo_id, private=private, exist_ok=True)
        if revision and revision != "main":
            api.create_branch(repo_id, branch=revision, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=model_dir, revision=revision,
                                 allow_patterns=list(PUSHED), commit_message=f"Upload {model_dir.name} from fer_space")
    except (HfHubHTTPError, OSError, ValueError) as exc:
        print(f"error: push to {repo_id} failed: {exc}", file=sys.stderr)
        print(f"the checkpoint is intact in {model_dir}; retry with:\n  {retry}", file=sys.stderr)
        return 1
    print(f"pushed {model_dir} to {repo_id}: {info.commit_url}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.push", description=__doc__.split("\n\n")[0])
    p.add_argument("path", type=Path, help="a run folder (with best/) or a model folder")
    p.add_argument("repo_id")
    p.add_argument("--private", action="store_true")
    p.add_argument("--revision", help="branch to push to (created when missing)")
    args = p.parse_args(argv)
    return push_run(args.path, args.repo_id, private=args.private, revision=args.revision)


if __name__ == "__main__":
    sys.exit(main())
