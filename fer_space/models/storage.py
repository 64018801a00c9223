"""How a checkpoint is stored: ``model.safetensors`` beside ``config.json`` (and its card, ``README.md``).

Weights may be stored in float16 or in int8 with one float32 scale per output channel (``KEY`` +
``KEY.int8_scale``, see :func:`quantize_int8`); both load as float32.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"
INT8_SCALE = ".int8_scale"
# The card ``save_pretrained`` writes for a checkpoint that has not been evaluated yet (the evaluated
# card with metrics comes from ``training.card``, which replaces this one).
UNEVALUATED_CARD = """---
{{ card_data }}
---

# {{ title }}

{{ summary }} Not evaluated yet: `python -m training.evaluate --model FOLDER --data DATA --json`
measures it, and `python -m training.push` publishes it with its full card (metrics, curves,
confusion matrix).

```python
from fer_space import Predictor
faces = Predictor.from_pretrained("FOLDER or owner/repo").predict("photo.jpg")
```
"""


def quantize_int8(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Conv and linear weights (floating, 2-D or more) as int8 with a float32 scale per output
    channel (absmax / 127); other tensors (biases, norms, counters) unchanged."""
    out = {}
    for key, value in state.items():
        if value.is_floating_point() and value.ndim > 1:
            value = value.float()
            scale = value.abs().amax(dim=tuple(range(1, value.ndim)), keepdim=True).clamp(min=1e-12) / 127
            out[key] = (value / scale).round().clamp(-127, 127).to(torch.int8).contiguous()
            out[key + INT8_SCALE] = scale.contiguous()
        else:
            out[key] = value.contiguous()
    return out


def dequantize_int8(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of :func:`quantize_int8` (float32 weights); a state without scales is returned as is."""
    out = dict(state)
    for key in [k for k in state if k.endswith(INT8_SCALE)]:
        weight = key[: -len(INT8_SCALE)]
        if weight in state:  # a scale without its weight stays behind as an unexpected key
            out[weight] = state[weight].float() * out.pop(key)
    return out


def read_config(config_path: str | Path) -> dict[str, Any]:
    """Read a ``config.json`` into a dict, with a clear error when it is not one."""
    try:
        config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"cannot read model config {config_path}: {exc}") from exc
    if not isinstance(config, dict):
        raise ValueError(f"model config {config_path} is not a JSON object")
    return config
