"""int8 inference on ONNX Runtime's CPU provider: 1.6-4x faster than float32 on 2 cores (4x for the
default ensemble, ``bench/results.md``), at an accuracy cost measured per model (``metrics.json``
``"int8"``).

Static quantization needs each activation's range. ``training.quantize`` measures them once on
training faces and stores them in ``config.json`` under ``"int8"``, with the quantized graph's output
on a fixed input. Here the exported float graph is quantized with those ranges (weights int8 per
output channel, activations uint8, QDQ format), and the result is used only when it reproduces that
recorded output: a graph whose tensors were renamed, or a CPU whose int8 kernels saturate, falls back
to float32.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..models import FERClassifier
from ..models.base import dummy_input

# max |difference| of probabilities between the rebuilt graph and the recorded output
CHECK_TOLERANCE = 0.01


class _PerTensorNotice(logging.Filter):
    """Drops ONNX Runtime's notice that a 1-D weight (a LayerNorm's) is quantized per tensor, not per
    channel: expected, once per LayerNorm, on the root logger."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "is out-of-range for weight" not in record.getMessage()


def quantize_options() -> dict[str, Any]:
    """The ``quantize_static`` settings shared by measuring (training) and rebuilding (here)."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType

    return {"quant_format": QuantFormat.QDQ, "per_channel": True, "activation_type": QuantType.QUInt8,
            "weight_type": QuantType.QInt8, "calibrate_method": CalibrationMethod.MinMax}


def prepare(float_graph: Path, target: Path) -> None:
    """ONNX Runtime's pre-processing for quantization (graph optimisation; shapes as exported)."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    quant_pre_process(str(float_graph), str(target), skip_symbolic_shape=True)


def ranges_key(ranges: dict[str, list[float]]) -> str:
    """A short digest of the ranges (part of the quantized graph's cache name)."""
    return hashlib.sha256(json.dumps(ranges, sort_keys=True).encode()).hexdigest()[:12]


def quantize_graph(float_graph: Path, ranges: dict[str, list[float]], target: Path) -> None:
    """Write the int8 graph of ``float_graph`` with the stored activation ``ranges`` to ``target``."""
    from onnxruntime.quantization import CalibrationMethod, quantize_static
    from onnxruntime.quantization.calibrate import TensorsData, save_tensors_data

    with tempfile.TemporaryDirectory(prefix="fer-int8-") as tmp:
        prepared, cache = Path(tmp) / "prepared.onnx", Path(tmp) / "ranges.json"
        prepare(float_graph, prepared)
        data = {name: (np.float32(low), np.float32(high)) for name, (low, high) in ranges.items()}
        save_tensors_data(TensorsData(CalibrationMethod.MinMax, data), cache)
        notice = _PerTensorNotice()
        logging.getLogger().addFilter(notice)
        try:
            quantize_static(str(prepared), str(target), None, calibration_cache_path=cache, **quantize_options())
        finally:
            logging.getLogger().removeFilter(notice)


def check_input(model: FERClassifier) -> torch.Tensor:
    """The fixed input whose output the stored record holds: one seeded normal batch of 2."""
    return dummy_input(model, 2).normal_(generator=torch.Generator().manual_seed(0))


def check_output(session: Any, model: FERClassifier) -> list[list[float]]:
    """An ONNX Runtime session's probabilities on :func:`check_input`, rounded for ``config.json``."""
    logits = torch.from_numpy(session.run(None, {"x": check_input(model).numpy()})[0])
    return np.round(logits.double().softmax(1).numpy(), 5).tolist()


def matches_record(session: Any, model: FERClassifier) -> float:
    """The largest probability difference between ``session`` and the recorded output (inf: no record)."""
    record = (model.int8 or {}).get("check")
    if not record:
        return float("inf")
    return float(np.abs(np.asarray(check_output(session, model)) - np.asarray(record)).max())
