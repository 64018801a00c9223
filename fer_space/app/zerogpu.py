"""Hugging Face ZeroGPU: run a function on a borrowed GPU where the Space has one, unchanged elsewhere.

On a ZeroGPU Space (the ``spaces`` package is installed and ``SPACES_ZERO_GPU`` is set) a GPU is
attached only while a function decorated with ``spaces.GPU`` runs, and each call counts against the
visitor's daily quota. On CPU hardware and locally :func:`on_gpu` returns the function itself.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def zerogpu_module():
    """The ``spaces`` module when this process runs on ZeroGPU, else ``None``."""
    if not os.environ.get("SPACES_ZERO_GPU"):
        return None
    try:
        return importlib.import_module("spaces")
    except ImportError:
        return None


def on_gpu(duration: int) -> Callable[[F], F]:
    """Decorator: ``spaces.GPU(duration=duration)`` on ZeroGPU (at most ``duration`` seconds a call),
    the identity elsewhere."""
    spaces = zerogpu_module()
    if spaces is None:
        return lambda fn: fn
    return spaces.GPU(duration=duration)
