"""The models the app offers, loaded in the background and shared: one Predictor per model, one detector.

A model whose weights cannot be had is reported unavailable with the reason, never run with random
weights. Models load one after another in one background thread (the shipped default first), so ONNX
exports never overlap and no request waits on the network: a Hub model is tried once per start, and
only when it is configured (``FER_MODEL_REPO``, ``FER_COMPARE_REPOS``) or typed by a visitor.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModelLoadError
from ..faces import PHOTO_DETECTOR, FaceDetector
from ..predictor import Predictor, pick_device
from ..sources import DISPLAY_NAMES, EMBEDDED, LIVE_SOURCE, REPO_ENV, REVISION_ENV, embedded_models, resolve_and_load

# The seed's full-size models and baselines. They are offered when a folder of the repo's name under
# $FER_WEIGHTS_DIR holds their weights (e.g. what a GPU run brought back), or from the Hub when listed
# in FER_COMPARE_REPOS="Name=owner/repo,..."; otherwise one plain line says they are not trained yet.
SEED_REPOS = {
    "Swin-SE-ResNet (full, 224 px)": "fer-space/swin-se-resnet-fer2013",
    "SwinT (full, 224 px)": "fer-space/swin-t-fer2013",
    "ResNet50 (full, 224 px)": "fer-space/resnet50-fer2013",
}
WEIGHTS_DIR_ENV = "FER_WEIGHTS_DIR"
NOT_TRAINED = ("The full-size models (Swin-SE-ResNet, SwinT and ResNet50 at 224 px) are not offered: they are not "
               "trained yet (they need a GPU run; see the README's Training section).")
DEFAULT_NAME = DISPLAY_NAMES[EMBEDDED]
LIVE_NAME = DISPLAY_NAMES[LIVE_SOURCE]
REPO_ID = re.compile(r"[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}")
MAX_USER_MODELS = 3


@dataclass
class Entry:
    """A model on offer; ``state`` is pending, loading, ready or failed."""

    name: str
    source: str
    revision: str | None = None
    state: str = "pending"
    reason: str = ""
    predictor: Predictor | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def local(self) -> bool:
        """Whether the weights are on this machine (embedded, or a local folder): no network to wait for."""
        return self.embedded or Path(self.source).is_dir()

    @property
    def embedded(self) -> bool:
        """Whether the weights ship with the package (no Hub wait)."""
        return self.source == EMBEDDED or self.source.startswith(EMBEDDED + ":")


def seed_entries() -> list[Entry]:
    """The full-size models whose weights are in ``$FER_WEIGHTS_DIR/<repo name>``."""
    weights_dir = os.environ.get(WEIGHTS_DIR_ENV, "").strip()
    if not weights_dir:
        return []
    root = Path(weights_dir).expanduser()
    folders = {name: root / repo_id.rpartition("/")[2] for name, repo_id in SEED_REPOS.items()}
    return [Entry(name, str(folder)) for name, folder in folders.items() if (folder / "config.json").is_file()]


def default_entries() -> list[Entry]:
    """The shipped models named in ``DISPLAY_NAMES`` (the embedded default first), ``$FER_MODEL_REPO``
    if set, the Hub models of ``$FER_COMPARE_REPOS`` and the full-size models found in ``$FER_WEIGHTS_DIR``."""
    shipped = set(embedded_models())
    entries = [Entry(name, source) for source, name in DISPLAY_NAMES.items() if source in shipped]
    repo = os.environ.get(REPO_ENV, "").strip()
    if repo:
        entries.insert(0, Entry(f"{repo} (Hub)", repo, os.environ.get(REVISION_ENV) or None))
    spec = os.environ.get("FER_COMPARE_REPOS")
    if spec:
        repos = dict(item.split("=", 1) for item in spec.split(",") if "=" in item)
        entries += [Entry(name.strip(), repo_id.strip()) for name, repo_id in repos.items()]
    return entries + [e for e in seed_entries() if e.name not in {x.name for x in entries}]


class ModelCatalog:
    """Named models with their load state; ``get(name)`` returns a ready Predictor or raises."""

    def __init__(self, entries: list[Entry] | None = None, *, device: str = "auto",
                 detector: FaceDetector | None = None) -> None:
        self.device = pick_device(device)
        self.detector = detector or FaceDetector(**PHOTO_DETECTOR, device=self.device)
        self.entries = {e.name: e for e in (entries if entries is not None else default_entries())}
        self._lock = threading.Lock()
        self._user_added: list[str] = []

    def on_cpu(self) -> ModelCatalog:
        """This catalog's models on the CPU, loaded apart (for the webcam on a ZeroGPU Space, where a
        GPU exists only inside ``spaces.GPU`` calls)."""
        if self.device.type == "cpu":
            return self
        entries = [Entry(e.name, e.source, e.revision) for e in self.entries.values()]
        return ModelCatalog(entries, device="cpu")

    def names(self) -> list[str]:
        return list(self.entries)

    def default_name(self) -> str:
        """``$FER_MODEL_REPO``'s entry when it loads (this may wait for the Hub), else the embedded default."""
        first = next(iter(self.entries))
        if first != DEFAULT_NAME and DEFAULT_NAME in self.entries:
            self._load(self.entries[first])
            if self.entries[first].predictor is None:
                return DEFAULT_NAME
        return first

    def _load(self, entry: Entry) -> None:
        with entry.lock:
            if entry.state not in ("pending", "loading"):
                return
            entry.state = "loading"
            try:
                model, source = resolve_and_load(entry.source, revision=entry.revision, device=str(self.device))
                entry.predictor = Predictor(model, source=source, detector=self.detector, device=self.device)
                entry.state = "ready"
            except ModelLoadError as exc:
                entry.state, entry.reason = "failed", str(exc)

    def preload(self, names: list[str] | None = None) -> threading.Thread:
        """Load models one after another in a background thread (returns it at once). Not a daemon: a
        process that ends while a model loads waits for that load rather than dying inside it."""
        entries = [self.entries[name] for name in (self.names() if names is None else names)]
        thread = threading.Thread(target=lambda: [self._load(e) for e in entries], name="fer-model-loader")
        thread.start()
        return thread

    def missing_note(self) -> str:
        """One line on the full-size models when none of them is offered, else ``""``."""
        return "" if any(name in self.entries for name in SEED_REPOS) else NOT_TRAINED

    def get(self, name: str) -> Predictor:
        """The Predictor of ``name``, loading it now if needed; ModelLoadError when unavailable."""
        entry = self.entries.get(name)
        if entry is None:
            raise ModelLoadError(f"unknown model {name!r}")
        self._load(entry)
        if entry.predictor is None:
            raise ModelLoadError(f"{name} is unavailable: {entry.reason}")
        return entry.predictor

    def status(self, name: str) -> tuple[str, str]:
        """(state, reason) without waiting: pending, loading, ready or failed."""
        entry = self.entries[name]
        return entry.state, entry.reason

    def add(self, repo_id: str, revision: str | None = None) -> str:
        """Offer a Hub repo typed by a user; returns its name. Only ``owner/name`` ids are taken
        (no local paths), and only the ``MAX_USER_MODELS`` most recent stay loaded."""
        repo_id = repo_id.strip()
        if not REPO_ID.fullmatch(repo_id):
            raise ModelLoadError(f"{repo_id!r} is not a Hub repo id of the form owner/name")
        name = repo_id + (f"@{revision}" if revision else "")
        with self._lock:
            if name not in self.entries:
                self.entries[name] = Entry(name, repo_id, revision)
                self._user_added.append(name)
                while len(self._user_added) > MAX_USER_MODELS:
                    self.entries.pop(self._user_added.pop(0), None)
        return name
