"""The app's result files: one fresh folder per request beside Gradio's cache, removed after an hour."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path

import cv2
import numpy as np

OUTPUT_DIR = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio") / "fer_space"
OUTPUT_TTL_S = 3600


def fresh_output_dir() -> Path:
    """A new folder for one request's output files; folders older than ``OUTPUT_TTL_S`` are removed."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in OUTPUT_DIR.iterdir():
        try:
            if time.time() - old.stat().st_mtime > OUTPUT_TTL_S:
                shutil.rmtree(old, ignore_errors=True)
        except FileNotFoundError:  # removed by a concurrent request
            pass
    path = OUTPUT_DIR / uuid.uuid4().hex
    path.mkdir()
    return path


def jpeg_files(images: list[np.ndarray]) -> list[str]:
    """Write RGB images as JPEG files of this request and return their paths.

    Returning paths rather than arrays matters under load: Gradio saves returned arrays to a path
    named by their content and rewrites it in place, so two users getting the same picture (the
    same example clicked) could download a half-written file; files are copied into its cache
    atomically instead."""
    folder = fresh_output_dir()
    paths = []
    for i, rgb in enumerate(images):
        path = folder / f"{i}.jpg"
        cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(str(path))
    return paths


def json_file(data: dict) -> str:
    """Write ``data`` as a JSON file of this request and return its path (``gr.Label`` reads a label with
    its own headline from one)."""
    path = fresh_output_dir() / "value.json"
    path.write_text(json.dumps(data))
    return str(path)
