"""The registries, timm's way: architectures by the name ``config.json`` records, presets by the name
``create_model`` takes. Each model file registers its own with the two decorators below."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .base import FERClassifier

ARCHITECTURES: dict[str, type[FERClassifier]] = {}
PRESETS: dict[str, Callable[..., FERClassifier]] = {}

C = TypeVar("C", bound=type)
F = TypeVar("F", bound=Callable[..., Any])


def register_architecture(cls: C) -> C:
    """Class decorator: ``config.json``'s ``"architecture": cls.architecture`` rebuilds this class."""
    ARCHITECTURES[cls.architecture] = cls
    return cls


def register_model(fn: F) -> F:
    """Preset decorator: ``create_model(fn.__name__, **overrides)`` calls ``fn(**overrides)``."""
    PRESETS[fn.__name__] = fn
    return fn


def list_models() -> list[str]:
    """Names ``create_model`` accepts."""
    return sorted(PRESETS)


def create_model(name: str, **config: Any) -> FERClassifier:
    """Build a fresh model by preset name; ``config`` overrides the preset's arguments."""
    if name not in PRESETS:
        raise KeyError(f"unknown model {name!r}; available: {', '.join(list_models())}")
    return PRESETS[name](**config)


def architecture_of(config: dict[str, Any], where: str) -> type[FERClassifier]:
    """The class a ``config.json`` names, or a clear error."""
    name = config.get("architecture")
    if name not in ARCHITECTURES:
        raise ValueError(
            f"{where}: config.json names architecture {name!r}; known: {', '.join(sorted(ARCHITECTURES))}"
        )
    return ARCHITECTURES[name]
