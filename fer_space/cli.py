"""Command line (``fer-space`` or ``python -m fer_space``): ``predict IMAGE [IMAGE ...] [--model SOURCE]
[--json] [--save DIR]``, ``compare IMAGE [--models SOURCE ...] [--json]`` and ``models``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2

from .errors import FERError
from .models import list_models
from .report import image_record, model_record
from .runtime.backends import BACKENDS
from .sources import DISPLAY_NAMES, embedded_dir, embedded_models


def _predict(args: argparse.Namespace) -> int:
    from .predictor import Predictor
    from .render import annotate

    try:
        predictor = Predictor.from_pretrained(args.model, revision=args.revision, device=args.device,
                                              align=args.align, backend=args.backend)
    except (FERError, ValueError, RuntimeError) as exc:  # RuntimeError: an int8 graph that did not check out
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if predictor.source.note:
        print(f"warning: {predictor.source.describe()}", file=sys.stderr)
    for folder in (args.save, args.explain):
        if folder:
            Path(folder).mkdir(parents=True, exist_ok=True)
    failures = 0
    for image in args.images:
        try:
            prediction = predictor.predict_timed(image)
        except FERError as exc:
            print(f"error: {image}: {exc}", file=sys.stderr)
            failures += 1
            continue
        heat_maps = _write_heat_maps(predictor, prediction, Path(args.explain), image) if args.explain else []
        if args.json:
            print(json.dumps(image_record(str(image), predictor, prediction, heat_maps or None)), flush=True)
        else:
            print(f"{image}: {len(prediction.faces)} face(s) [{predictor.model_name}]")
            for i, f in enumerate(prediction.faces):
                box = ", ".join(f"{v:.0f}" for v in f.box)
                print(f"  #{i + 1} {f.caption:24s} box [{box}]" + "".join(f"\n      warning: {w}" for w in f.warnings))
        if args.save:
            target = Path(args.save) / f"{Path(str(image)).stem}_annotated.jpg"
            cv2.imwrite(str(target), cv2.cvtColor(annotate(prediction.image, prediction.faces), cv2.COLOR_RGB2BGR))
    return 1 if failures else 0


def _compare(args: argparse.Namespace) -> int:
    from .compare import compare, long_rows, published_accuracy
    from .faces import PHOTO_DETECTOR, FaceDetector
    from .images import load_image
    from .predictor import Predictor, pick_device

    device = pick_device(args.device)
    detector = FaceDetector(**PHOTO_DETECTOR, device=device)
    try:
        rgb = load_image(args.image)
        predictors = {source: Predictor.from_pretrained(source, device=str(device), detector=detector)
                      for source in args.models or list(DISPLAY_NAMES)}
    except (FERError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    faces = detector.detect(rgb)
    answers = compare(rgb, faces, predictors)
    if args.json:
        models = [{"source": a.name, **model_record(a.predictor), "validation": published_accuracy(a.predictor),
                   "ms_per_face": round(a.ms_per_face, 1)} for a in answers]
        print(json.dumps({"image": str(args.image), "faces": len(faces), "models": models, "rows": long_rows(answers)}))
        return 0
    print(f"{args.image}: {len(faces)} face(s)")
    for a in answers:
        print(f"  {a.name:32s} {published_accuracy(a.predictor):10s} {a.ms_per_face:6.1f} ms/face  "
              + "  ".join(f"#{i + 1} {c}" for i, c in enumerate(a.captions)))
    return 0


def _write_heat_maps(predictor, prediction, folder: Path, image) -> list[dict[str, str]]:
    """Write each face's Grad-CAM overlays as JPEGs in ``folder``; their paths per face and map name."""
    from .explain import overlay

    stem, paths = Path(str(image)).stem, []
    for i, (crop, maps) in enumerate(zip(prediction.crops, predictor.explain(prediction.crops), strict=True)):
        paths.append({})
        for name, heat in maps.items():
            target = folder / f"{stem}_face{i + 1}_{name.lower().replace(' ', '_')}.jpg"
            cv2.imwrite(str(target), cv2.cvtColor(overlay(crop, heat), cv2.COLOR_RGB2BGR))
            paths[-1][name] = str(target)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fer_space", description="Facial expression recognition")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("predict", help="find the faces in images and classify their expressions")
    p.add_argument("images", nargs="+", help="image files")
    p.add_argument("--model", default=None, help="Hub repo id, local folder, 'embedded' or 'embedded:NAME' "
                   "(see `models`; default: $FER_MODEL_REPO, else the embedded model)")
    p.add_argument("--revision", default=None, help="Hub branch, tag or commit sha")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.add_argument("--backend", default="auto", choices=BACKENDS,
                   help="auto (ONNX Runtime on CPU, int8 where the model has ranges; PyTorch on GPU), torch, "
                        "onnx (float32) or int8")
    p.add_argument("--json", action="store_true", help="one JSON object per image on stdout")
    p.add_argument("--save", metavar="DIR", help="write annotated copies here")
    p.add_argument("--align", action=argparse.BooleanOptionalAction, default=None,
                   help="rotate faces to level the eyes, or not (default: as the model was trained)")
    p.add_argument("--explain", metavar="DIR", help="write Grad-CAM heat maps of each face here (slower)")
    c = sub.add_parser("compare", help="several models on the same faces of one image")
    c.add_argument("image", help="an image file")
    c.add_argument("--models", nargs="+", metavar="SOURCE", help="model sources (default: the app's models)")
    c.add_argument("--device", default="auto", help="auto, cpu or cuda")
    c.add_argument("--json", action="store_true", help="one JSON object: each model and each face's answer")
    sub.add_parser("models", help="list the trained models shipped with the package and the architectures")
    args = parser.parse_args(argv)
    if args.command == "models":
        print("trained models shipped with the package (--model SOURCE):")
        for source in embedded_models():
            path = embedded_dir(source) / "metrics.json"
            m = json.loads(path.read_text()) if path.is_file() else {}
            figure = f"{m['split']} accuracy {m['accuracy']:.2%}" if m else "no evaluation"
            print(f"  {source:30s} {DISPLAY_NAMES.get(source, '(not offered in the app)'):38s} {figure}")
        print("architectures (create_model, untrained):\n  " + "\n  ".join(list_models()))
        return 0
    return _compare(args) if args.command == "compare" else _predict(args)
