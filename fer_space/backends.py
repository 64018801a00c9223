"""How a classifier runs: PyTorch eager (GPU, or the fallback) or ONNX Runtime (CPU, 3-5x faster
on 2 cores, see ``bench/``). The ONNX graph is exported in memory from the loaded safetensors
weights at start-up and checked against PyTorch before it is used."""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable

import numpy as np
import torch

from .models import FERClassifier
from .models.base import dummy_input

log = logging.getLogger(__name__)
PARITY_TOLERANCE = 1e-4  # max |difference| of probabilities between backends

Runner = Callable[[torch.Tensor], torch.Tensor]


class OnnxRunner:
    """An ONNX Runtime session over an in-memory export of ``model`` (dynamic batch)."""

    def __init__(self, model: FERClassifier, threads: int | None = None) -> None:
        import onnxruntime as ort

        buffer = io.BytesIO()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(model.cpu().eval(), dummy_input(model), buffer, input_names=["x"],
                              output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
                              dynamo=False, opset_version=17)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.inter_op_num_threads = 1
        # Spinning threads fight torch's (MTCNN runs in torch): 2x slower pipeline without this.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(buffer.getvalue(), options, providers=["CPUExecutionProvider"])

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        return torch.from_numpy(self.session.run(None, {"x": batch.cpu().numpy()})[0])


def make_runner(model: FERClassifier, backend: str, device: torch.device) -> tuple[Runner, str]:
    """(runner, backend name). ``auto``: ONNX Runtime on CPU when it exports and matches, else torch."""
    if backend not in ("auto", "torch", "onnx"):
        raise ValueError(f"backend must be auto, torch or onnx, got {backend!r}")
    if backend == "torch" or (backend == "auto" and device.type != "cpu"):
        return model, "torch"
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
        log.warning("ONNX Runtime backend unavailable (%s); using PyTorch", exc)
        return model, "torch"
