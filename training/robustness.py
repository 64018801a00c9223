"""How a model's accuracy holds up against the framing and quality users bring.

``python -m training.robustness --model SOURCE --data fer2013.csv [--split PublicTest] [--json]``

Each face of the split is read as it is, then with one change at a time: the crop zoomed in or out
(scale +-15%), shifted (10% of the side, each way), rotated (+-15 degrees), blurred (Gaussian, sigma 1
and 2 px at 48 px) and saved as a JPEG (quality 30 and 10). Borders repeat the edge, as the app's crop
does. The accuracy under each change, and its drop from the clean faces, show where a model is fragile.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

import cv2
import numpy as np

from fer_space.predictor import pick_device
from fer_space.runtime.backends import make_runner
from fer_space.sources import resolve_and_load

from .data import load_faces
from .evaluate import canonical_probs

Change = Callable[[np.ndarray], np.ndarray]


def affine(scale: float = 1.0, shift: tuple[float, float] = (0.0, 0.0), degrees: float = 0.0) -> Change:
    """Zoom by ``scale``, move by ``shift`` (fractions of the side) and rotate by ``degrees`` about the centre."""
    def change(face: np.ndarray) -> np.ndarray:
        side = face.shape[0]
        matrix = cv2.getRotationMatrix2D((side / 2, side / 2), degrees, scale)
        matrix[:, 2] += (shift[0] * side, shift[1] * side)
        return cv2.warpAffine(face, matrix, (side, side), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return change


def blur(sigma: float) -> Change:
    return lambda face: cv2.GaussianBlur(face, (0, 0), sigma)


def jpeg(quality: int) -> Change:
    def change(face: np.ndarray) -> np.ndarray:
        ok, data = cv2.imencode(".jpg", face, [cv2.IMWRITE_JPEG_QUALITY, quality])
        return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    return change


CHANGES: dict[str, Change] = {
    "zoom in 15%": affine(scale=1.15), "zoom out 15%": affine(scale=0.85),
    "shift right 10%": affine(shift=(0.1, 0.0)), "shift down 10%": affine(shift=(0.0, 0.1)),
    "shift up 10%": affine(shift=(0.0, -0.1)),
    "rotate 15 degrees": affine(degrees=15), "rotate -15 degrees": affine(degrees=-15),
    "blur sigma 1": blur(1.0), "blur sigma 2": blur(2.0), "JPEG quality 30": jpeg(30), "JPEG quality 10": jpeg(10),
}


def robustness(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy on the clean faces and under each change (``predict``: faces -> predicted indices)."""
    clean = float((predict(images) == labels).mean())
    out = {"clean": clean}
    for name, change in CHANGES.items():
        changed = np.stack([change(face) for face in images])
        out[name] = float((predict(changed) == labels).mean())
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m training.robustness", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None, help="model source (default: the embedded default)")
    p.add_argument("--data", required=True, help="fer2013.csv(.gz)")
    p.add_argument("--split", default="PublicTest")
    p.add_argument("--backend", default="auto", help="auto (as the app runs it), torch, onnx or int8")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    try:
        device = pick_device("auto")
        model, source = resolve_and_load(args.model, device=str(device))
        runner, backend = make_runner(model, args.backend, device)
        faces = load_faces(args.data).split(args.split)
    except (OSError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    result = robustness(lambda images: canonical_probs(model, images, device=device, runner=runner).argmax(1),
                        faces.images, faces.labels)
    if args.json:
        print(json.dumps({"model": source.describe(), "backend": backend, "split": args.split, "n": len(faces),
                          "accuracy": result}))
    else:
        print(f"{source.describe()} ({backend}) on {args.split}, {len(faces)} faces:")
        for name, accuracy in result.items():
            print(f"  {name:20s} {accuracy:.2%}" + (f" ({accuracy - result['clean']:+.2%})" if name != "clean" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
