"""Where weights come from: a Hub repo id (+ revision), a local folder, or the embedded default.

``resolve_and_load(source)``:
- ``None``: the Hub repo named by ``FER_MODEL_REPO`` (at ``FER_MODEL_REVISION``) when set, else
  the embedded default; when the Hub cannot be reached the embedded default is used and the
  returned :class:`ModelSource` says why.
- ``"embedded"``: the default model shipped inside the package (``fer_space/embedded/fer_ensemble``);
  ``"embedded:NAME"``: another shipped model (``fer_space/embedded/NAME``, e.g. the seed's nano models).
- a folder holding ``config.json`` + ``model.safetensors``.
- anything else is a Hub repo id.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from huggingface_hub import hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError

from .errors import ModelLoadError
from .models import FERClassifier, load_model

EMBEDDED_ROOT = Path(__file__).parent / "embedded"  # every model shipped inside the package, a folder each
DEFAULT_NAME = "fer_ensemble"  # the folder of the default model ("embedded")
DEFAULT_DIR = EMBEDDED_ROOT / DEFAULT_NAME
EMBEDDED = "embedded"
REPO_ENV, REVISION_ENV = "FER_MODEL_REPO", "FER_MODEL_REVISION"

# What people see for each embedded model (app pickers, CLI, model cards), in picker order. The
# app offers these; an embedded model not named here stays loadable as ``embedded:NAME`` only.
DISPLAY_NAMES = {
    EMBEDDED: "FER ensemble (5 CNNs, default)",
    f"{EMBEDDED}:swin_se_resnet_small": "Swin-SE-ResNet small (48 px)",
    f"{EMBEDDED}:swin_small": "Swin branch alone (small, 48 px)",
    f"{EMBEDDED}:resnet_small": "ResNet branch alone (small, 48 px)",
    f"{EMBEDDED}:wide_cnn": "Wide CNN (1 model + mirror, webcam default)",
    f"{EMBEDDED}:compact_cnn": "Compact CNN (1 model, fastest)",
}
# The webcam's default: the default ensemble's strongest member reading the face and its mirror,
# 0.4 points below the ensemble in int8 (0.3 in float32) at under a third of its cost (README, Speed).
LIVE_SOURCE = f"{EMBEDDED}:wide_cnn"


@dataclass
class ModelSource:
    """What was loaded and from where; ``note`` explains a fallback."""

    kind: str  # embedded | local | hub
    location: str
    revision: str | None = None
    note: str | None = None
    metrics: dict = field(default_factory=dict)

    def describe(self) -> str:
        if self.kind == "embedded":
            name = self.location.partition(":")[2]
            text = f"embedded model {name} (fer_space/embedded/{name})" if name else \
                "embedded default model (fer_space/embedded/fer_ensemble)"
        else:
            where = {"local": "local folder", "hub": "Hugging Face Hub"}[self.kind]
            text = f"{self.location} ({where}" + (f" @ {self.revision}" if self.revision else "") + ")"
        return text + (f"; {self.note}" if self.note else "")


def _read_metrics(source: str, revision: str | None) -> dict:
    """``metrics.json`` beside the weights, when the checkpoint has one."""
    try:
        path = Path(source) / "metrics.json" if Path(source).is_dir() else Path(
            hf_hub_download(source, "metrics.json", revision=revision)
        )
        return json.loads(path.read_text())
    except (OSError, ValueError, EntryNotFoundError, HfHubHTTPError, LocalEntryNotFoundError):
        return {}


def _load(kind: str, location: str, revision: str | None, device: str) -> tuple[FERClassifier, ModelSource]:
    try:
        model = load_model(location, revision=revision, device=device)
    except (OSError, ValueError, KeyError, HfHubHTTPError) as exc:
        label = "embedded default model" if kind == EMBEDDED else location
        at = f" at revision {revision}" if revision else ""
        raise ModelLoadError(f"cannot load {label}{at}: {exc}") from exc
    return model, ModelSource(kind, location, revision, metrics=_read_metrics(location, revision))


def embedded_models() -> list[str]:
    """Sources of the models shipped inside the package: ``"embedded"`` and ``"embedded:NAME"``."""
    names = [EMBEDDED] if (DEFAULT_DIR / "model.safetensors").is_file() else []
    return names + [f"{EMBEDDED}:{d.name}" for d in sorted(EMBEDDED_ROOT.glob("*"))
                    if d.name != DEFAULT_NAME and (d / "model.safetensors").is_file()]


def embedded_source(folder: str | Path) -> str | None:
    """``"embedded"`` or ``"embedded:NAME"`` when ``folder`` is a shipped model's folder, else ``None``."""
    folder = Path(folder).resolve()
    if folder == DEFAULT_DIR.resolve():
        return EMBEDDED
    return f"{EMBEDDED}:{folder.name}" if folder.parent == EMBEDDED_ROOT.resolve() else None


def embedded_dir(source: str) -> Path:
    """The folder of ``"embedded"`` or ``"embedded:NAME"``."""
    name = source.partition(":")[2]
    return EMBEDDED_ROOT / (name or DEFAULT_NAME)


def load_embedded(device: str = "cpu", source: str = EMBEDDED) -> tuple[FERClassifier, ModelSource]:
    """A model shipped with the package (the default, or ``"embedded:NAME"``), or a clear error."""
    if source == f"{EMBEDDED}:{DEFAULT_NAME}":
        source = EMBEDDED
    folder = embedded_dir(source)
    embedded = embedded_models()
    if source not in embedded:
        raise ModelLoadError(
            f"no trained model is embedded as {source!r} (embedded: {', '.join(embedded) or 'none'}); pass a Hub "
            f"repo id or a local folder (or set {REPO_ENV})"
        )
    model, loaded = _load(EMBEDDED, str(folder), None, device)
    loaded.location = source
    return model, loaded


def resolve_and_load(
    source: str | Path | None = None, revision: str | None = None, device: str = "cpu"
) -> tuple[FERClassifier, ModelSource]:
    """Load the model ``source`` names (see the module docstring)."""
    if source is None:
        repo = os.environ.get(REPO_ENV, "").strip()
        if not repo:
            return load_embedded(device)
        revision = revision or os.environ.get(REVISION_ENV) or None
        try:
            return _load("hub", repo, revision, device)
        except ModelLoadError as exc:
            model, fallback = load_embedded(device)
            fallback.note = f"fell back to it because {exc}"
            return model, fallback
    source = str(source)
    if source == EMBEDDED or source.startswith(EMBEDDED + ":"):
        return load_embedded(device, source)
    if Path(source).is_dir():
        return _load("local", source, None, device)
    if source.startswith((".", "/", "~")) or source.count("/") > 1:
        raise ModelLoadError(f"model folder not found: {source}")
    return _load("hub", source, revision, device)
