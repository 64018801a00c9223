"""What each branch of a Swin-SE-ResNet carries: ``python -m training.ablate --model SOURCE --data PATH``.

Mean ablation on the evaluated faces: one branch's features are replaced by their mean over those
faces before the shared Linear head, so the head sees no face-specific information from that branch.
The drop in accuracy is what the hybrid reads from the branch. Prints JSON.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import torch

from fer_space.labels import EMOTIONS, canonical_order
from fer_space.models.swin_se_resnet import SwinSEResNet

from .data import load_faces
from .evaluate import input_batches
from .metrics import classification_metrics


@torch.inference_mode()
def branch_features(model: SwinSEResNet, images: np.ndarray, batch_size: int = 256) -> tuple[torch.Tensor, ...]:
    """The Swin and ResNet branch features ``(N, F_swin)``, ``(N, F_res)`` of uint8 faces."""
    model.eval()
    swin, res = [], []
    for batch in input_batches(model, images, batch_size):
        swin.append(model.swin_features(batch))
        res.append(model.resnet(batch))
    return torch.cat(swin), torch.cat(res)


@torch.inference_mode()
def ablate(model: SwinSEResNet, images: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy with both branches, and with each branch mean-ablated."""
    swin, res = branch_features(model, images)
    order = canonical_order(model.labels)

    def accuracy(a: torch.Tensor, b: torch.Tensor) -> float:
        predicted = model.head(torch.cat([a, b], dim=1))[:, order].argmax(1).numpy()
        return round(classification_metrics(labels, predicted, EMOTIONS)["accuracy"], 4)

    return {"n": len(labels), "both_branches": accuracy(swin, res),
            "swin_mean_ablated": accuracy(swin.mean(0).expand_as(swin), res),
            "resnet_mean_ablated": accuracy(swin, res.mean(0).expand_as(res))}


def main(argv: list[str] | None = None) -> int:
    from fer_space.sources import resolve_and_load

    p = argparse.ArgumentParser(prog="python -m training.ablate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="embedded:swin_se_resnet_nano", help="a Swin-SE-ResNet checkpoint")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz) or a folder data set")
    p.add_argument("--split", default="PublicTest")
    args = p.parse_args(argv)
    model, _ = resolve_and_load(args.model)
    if not isinstance(model, SwinSEResNet):
        print(f"error: {args.model} is a {model.architecture} model, not a Swin-SE-ResNet", file=sys.stderr)
        return 2
    faces = load_faces(args.data, size=max(48, model.img_size), grey=model.in_chans == 1).split(args.split)
    print(json.dumps({"model": args.model, "split": args.split, **ablate(model, faces.images, faces.labels)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
