"""How a classifier runs: PyTorch eager (GPU, or the fallback) or ONNX Runtime (CPU, 3-5x faster
on 2 cores, see ``bench/``), in int8 where the model has measured activation ranges (``fer_space.runtime.int8``,
1.6-4x faster again). The ONNX graph is exported from the loaded safetensors weights and
checked against PyTorch before it is used. Exporting costs about 4x the weights in transient memory
(0.9 GB for the full Swin-SE-ResNet), so the graph is cached on disk under a key of the weights,
config, model code and exporter versions (``$FER_CACHE``, default ``~/.cache/fer_space``): later starts skip it."""

from __future__ import annotations

import ctypes
import hashlib
import inspect
import io
import json
import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..models import FERClassifier
from ..models.base import dummy_input
from . import int8 as int8_graphs

log = logging.getLogger(__name__)
PARITY_TOLERANCE = 1e-4  # max |difference| of probabilities between backends

OPSET = 17
BACKENDS = ("auto", "torch", "onnx", "int8")

Runner = Callable[[torch.Tensor], torch.Tensor]
# torch.onnx.export keeps global state (GLOBALS.in_onnx_export): two exports at once fail, so they
# take turns, whichever thread loads a model.
_EXPORT_LOCK = threading.Lock()


def cache_dir() -> Path:
    """Where exported ONNX graphs are kept: ``$FER_CACHE/onnx`` or ``~/.cache/fer_space/onnx``."""
    root = os.environ.get("FER_CACHE") or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fer_space"
    return Path(root) / "onnx"


def model_key(model: FERClassifier) -> str:
    """A digest of the weights, the config, the model code and the exporter versions: equal keys export
    equal graphs. The config's calibration and int8 ranges are left out: they do not change the graph."""
    import onnxruntime as ort

    code = sorted({type(m).__module__ for m in model.modules() if type(m).__module__.startswith(__package__)})
    config = {k: v for k, v in model.config.items() if k not in ("calibration", "int8")}
    h = hashlib.sha256(json.dumps({"config": config, "torch": torch.__version__, "ort": ort.__version__,
                                   "opset": OPSET, "code": [inspect.getsource(sys.modules[name]) for name in code]},
                                  sort_keys=True, default=str).encode())
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return h.hexdigest()[:32]


def export_onnx(model: FERClassifier, target: str | Path | io.BytesIO) -> None:
    """Export ``model`` with a dynamic batch axis to a file or buffer."""
    with _EXPORT_LOCK, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(model.cpu().eval(), dummy_input(model), target, input_names=["x"],
                          output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
                          dynamo=False, opset_version=OPSET)


def cached_export(model: FERClassifier) -> Path | None:
    """The cached ONNX file of ``model``, exported now if missing; None when the cache is not writable."""
    path = cache_dir() / f"{model.architecture}-{model_key(model)}.onnx"
    if path.is_file():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        os.close(fd)
        try:
            export_onnx(model, tmp)
            os.replace(tmp, path)  # readers never see a half-written graph
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        log.warning("cannot cache the ONNX export in %s (%s); exporting in memory", path.parent, exc)
        return None
    return path


def cached_int8(model: FERClassifier, float_graph: Path) -> Path:
    """The cached int8 graph of ``model`` (quantized from ``float_graph`` with its stored ranges)."""
    ranges = model.int8["ranges"]
    path = float_graph.with_name(f"{float_graph.stem}-int8-{int8_graphs.ranges_key(ranges)}.onnx")
    if not path.is_file():
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        os.close(fd)
        try:
            int8_graphs.quantize_graph(float_graph, ranges, Path(tmp))
            os.replace(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return path


def release_freed_memory() -> None:
    """Hand the heap that exporting freed back to the OS (glibc keeps it otherwise)."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc


class OnnxRunner:
    """An ONNX Runtime session over the (cached) ONNX export of ``model`` (dynamic batch); ``int8``:
    over its int8 graph (the model needs stored ranges, and a writable cache)."""

    def __init__(self, model: FERClassifier, threads: int | None = None, int8: bool = False) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        # Spinning threads fight torch's (MTCNN runs in torch): 2x slower pipeline without this.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")

        def session(path: Path | None) -> ort.InferenceSession:
            if path is not None:
                return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            buffer = io.BytesIO()  # no writable cache: export in memory
            export_onnx(model, buffer)
            return ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

        def graph() -> Path | None:
            path = cached_export(model)
            if not int8:
                return path
            if path is None:
                raise RuntimeError(f"int8 graphs are built in a writable cache; {cache_dir()} is not")
            return cached_int8(model, path)

        self.path = graph()
        try:
            self.session = session(self.path)
        except Exception:
            if self.path is None:
                raise
            log.warning("the cached ONNX graph %s is damaged; building it again", self.path)
            self.path.unlink(missing_ok=True)
            self.path = graph()
            self.session = session(self.path)
        release_freed_memory()

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"x": batch.cpu().numpy()})[0])


def int8_runner(model: FERClassifier) -> OnnxRunner:
    """ONNX Runtime on ``model``'s int8 graph, once it reproduces the stored output."""
    if not model.int8:
        raise ValueError(f"{model.architecture} has no int8 ranges (measure them: python -m training.quantize)")
    runner = OnnxRunner(model, int8=True)
    diff = int8_graphs.matches_record(runner.session, model)
    if not diff <= int8_graphs.CHECK_TOLERANCE:
        raise RuntimeError(f"the int8 graph differs from its recorded output by {diff:.2e}")
    return runner


def make_runner(model: FERClassifier, backend: str, device: torch.device) -> tuple[Runner, str]:
    """(runner, backend name). ``auto``: on CPU, ONNX Runtime in int8 where the model has ranges and
    its graph checks out, else in float32 when it exports and matches, else torch; on GPU, torch."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if backend == "torch" or (backend == "auto" and device.type != "cpu"):
        return model, "torch"
    if backend == "int8" or (backend == "auto" and model.int8):
        try:
            return int8_runner(model), "onnxruntime-int8"
        except Exception as exc:  # as below: fall back to float32, never fail to serve
            if backend == "int8":
                raise
            log.warning("%s: int8 inference unavailable (%s); running float32", model.architecture, exc)
    try:
        runner = OnnxRunner(model)
        x = dummy_input(model, 2).normal_(generator=torch.Generator().manual_seed(0))
        with torch.inference_mode():
            diff = (runner(x).softmax(1) - model(x).softmax(1)).abs().max().item()
        if not np.isfinite(diff) or diff > PARITY_TOLERANCE:
            raise RuntimeError(f"ONNX Runtime differs from PyTorch by {diff:.2e}")
        return runner, "onnxruntime"
    except Exception as exc:  # any export/runtime failure: fall back, never fail to serve
        if backend == "onnx":
            raise
        log.warning("%s: ONNX Runtime unavailable (%s); running PyTorch", model.architecture, exc)
        return model, "torch"
