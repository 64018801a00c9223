"""Atomic writes: a checkpoint or model folder is either the old one or the new one, never half."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import safetensors.torch
import torch

from fer_space.models import FERClassifier
from fer_space.models.storage import WEIGHTS_NAME, quantize_int8


@contextmanager
def atomic_file(path: str | Path, mode: str = "wb") -> Iterator[IO]:
    """A temp file in ``path``'s folder to write; fsynced and renamed over ``path`` when the block ends,
    removed if it fails."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_state(state: dict[str, Any], path: str | Path) -> None:
    """``torch.save`` to ``path`` atomically (:func:`atomic_file`)."""
    with atomic_file(path) as f:
        torch.save(state, f)


def update_json(path: str | Path, **entries: Any) -> dict[str, Any]:
    """Set ``entries`` in the JSON object at ``path`` (an empty one if missing), written whole
    (:func:`atomic_file`, readable by all); returns the object written."""
    path = Path(path)
    content = {**(json.loads(path.read_text()) if path.exists() else {}), **entries}
    with atomic_file(path, "w") as f:
        os.fchmod(f.fileno(), 0o644)
        json.dump(content, f, indent=2)
    return content


def load_state(path: str | Path) -> dict[str, Any]:
    """Read a training checkpoint written by :func:`save_state` (tensors and plain data only)."""
    return torch.load(path, map_location="cpu", weights_only=True)


def save_model_dir(model: FERClassifier, directory: str | Path, extra_files: dict[str, str] | None = None,
                   int8: bool = False) -> None:
    """``save_pretrained`` into a temp folder, then swap it in for ``directory``. ``int8`` stores the
    conv and linear weights as int8 with a scale per output channel (``quantize_int8``)."""
    with staged_dir(directory) as tmp:
        model.save_pretrained(tmp)
        if int8:
            safetensors.torch.save_file(quantize_int8(model.state_dict()), tmp / WEIGHTS_NAME, {"format": "pt"})
        for name, text in (extra_files or {}).items():
            (tmp / name).write_text(text)


@contextmanager
def staged_dir(directory: str | Path) -> Iterator[Path]:
    """A temp folder beside ``directory`` to fill; swapped in whole when the block ends, removed if it fails."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}."))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    swap_dir(tmp, directory)


def swap_dir(new: Path, directory: Path) -> None:
    """Put the complete folder ``new`` in place of ``directory`` (renames only)."""
    old = directory.with_name(f".{directory.name}.old")
    try:
        if directory.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(directory, old)
        os.replace(new, directory)
    except BaseException:
        shutil.rmtree(new, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
