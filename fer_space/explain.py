"""Grad-CAM heat maps: where in the face a model looked for the expression it chose.

For each face crop, the gradient of the chosen expression's score weighs the channels of a late
feature map (Grad-CAM, Selvaraju et al. 2017); the weighted sum, kept positive, is the map. Each
model names its maps and their layers (``FERClassifier.gradcam_layers``): one for a CNN, one per
branch for Swin-SE-ResNet (what the Swin branch and what the ResNet branch look at), and for an
ensemble the average of its members' maps (the mirrored view's maps flipped back).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .models import FERClassifier


def _cam(activation: torch.Tensor, gradient: torch.Tensor, size: int) -> torch.Tensor:
    """Grad-CAM of one layer: ReLU(sum_c mean(grad_c) * A_c), resized to ``size``, ``(B, size, size)``."""
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((weights * activation).sum(1, keepdim=True))
    return F.interpolate(cam, size=(size, size), mode="bilinear", align_corners=False)[:, 0]


def gradcam(model: FERClassifier, batch: torch.Tensor, classes: list[int] | None = None) -> dict[str, np.ndarray]:
    """Heat maps ``(N, H, W)`` in ``[0, 1]`` per map name for the input ``batch``; ``classes`` are the
    model's output indices to explain (default: its top class for each face)."""
    layers = model.gradcam_layers()
    captured: dict[nn.Module, torch.Tensor] = {}

    def keep(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        output.retain_grad()
        captured[module] = output

    handles = [layer.register_forward_hook(keep) for group in layers.values() for layer, _ in group]
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            batch = batch.detach().requires_grad_(True)
            logits = model(batch)
            chosen = logits.argmax(1) if classes is None else torch.as_tensor(classes, device=logits.device)
            logits.gather(1, chosen[:, None]).sum().backward()
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    n, size = len(batch), batch.shape[-1]
    maps = {}
    for name, group in layers.items():
        total = torch.zeros(n, size, size)
        for layer, nhwc in group:
            act, grad = captured[layer].detach(), captured[layer].grad
            if nhwc:
                act, grad = act.permute(0, 3, 1, 2), grad.permute(0, 3, 1, 2)
            cam = _cam(act.float(), grad.float(), size).cpu()
            if len(cam) == 2 * n:  # an ensemble member that also read the mirrored face
                cam = (cam[:n] + cam[n:].flip(2)) / 2
            total += cam / cam.flatten(1).amax(1).clamp(min=1e-8)[:, None, None]
        maps[name] = (total / total.flatten(1).amax(1).clamp(min=1e-8)[:, None, None]).numpy()
    return maps


def overlay(crop: np.ndarray, heat: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """The RGB ``crop`` with ``heat`` (``[0, 1]``, any size) laid over it in the 'jet' colours."""
    heat = cv2.resize(heat.astype(np.float32), (crop.shape[1], crop.shape[0]), interpolation=cv2.INTER_LINEAR)
    colour = cv2.cvtColor(cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET), cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(crop, 1 - alpha, colour, alpha, 0)
