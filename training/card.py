"""Model cards (``README.md`` with a ``model-index``) for trained checkpoints, via huggingface_hub."""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from huggingface_hub import EvalResult, ModelCard, ModelCardData

from fer_space.labels import EMOTIONS
from fer_space.models import load_model
from fer_space.models.base import count_params

from .plots import plot_confusion

DATASET_NAMES = {"fer2013": ("FER2013", "fer2013")}

TEMPLATE = """---
{{ card_data }}
---

# {{ title }}

**{{ first_line }}**

Facial expression recognition (7 expressions: {{ emotions }}) with the `fer_space` package.
Architecture `{{ architecture }}` ({{ params }} parameters), input {{ img_size }} px {{ colour }} face crops.

## Evaluation

Measured on **{{ dataset }} `{{ split }}`** ({{ n }} faces), {{ when }}{{ tta }}:

| metric | value |
|---|---|
| accuracy | {{ accuracy }} |
| weighted F1 | {{ f1_weighted }} |
| macro F1 | {{ f1_macro }} |

| emotion | precision | recall | F1 | support |
|---|---|---|---|---|
{{ per_class_rows }}

{{ members }}![confusion matrix](confusion.png)

![training curves](curves.png)
{{ calibration }}
{{ int8 }}
## Limitations

- For FER2013, `PublicTest` is used for model selection, so the figures above are validation
  figures; the official test split (`PrivateTest`) was not used in training or selection.
- FER2013 is 48x48 grey, mostly frontal, web-collected faces with noisy labels; expect lower accuracy
  on other populations, poses, lighting and on subtle or mixed expressions. Disgust is rare (~1.5%).
- Expression is not emotion: the model labels facial appearance, not what anyone feels. Do not use it
  to make decisions about people.

## Training

```
{{ command }}
```

Configuration:

```json
{{ train_config }}
```

## Use

```python
from fer_space import Predictor
predictor = Predictor.from_pretrained("{{ repo_hint }}")
faces = predictor.predict("photo.jpg")
```
"""


def build_card(
    model_dir: str | Path, *, repo_hint: str | None = None, command: str | None = None, title: str | None = None
) -> ModelCard:
    """A card for the checkpoint in ``model_dir`` from its ``metrics.json`` and ``train_config.json``;
    its first line says what the model is, what it reads and its measured accuracy."""
    model_dir = Path(model_dir)
    model = load_model(model_dir)
    metrics = json.loads((model_dir / "metrics.json").read_text())
    train_cfg_path = model_dir / "train_config.json"
    train_cfg = json.loads(train_cfg_path.read_text()) if train_cfg_path.exists() else {}
    data_name = Path(str(metrics.get("data", "data"))).name.split(".")[0]
    pretty, dataset_type = DATASET_NAMES.get(data_name, (data_name, data_name))
    split = metrics.get("split", "validation")
    results = [
        EvalResult(task_type="image-classification", task_name="Facial expression recognition",
                   dataset_type=dataset_type, dataset_name=pretty, dataset_split=split, metric_type=kind,
                   metric_name=name, metric_config=config, metric_value=round(metrics[key], 4))
        for key, kind, config, name in (("accuracy", "accuracy", None, "Accuracy"),
                                        ("f1_weighted", "f1", "weighted", "Weighted F1"),
                                        ("f1_macro", "f1", "macro", "Macro F1"))
    ]
    data = ModelCardData(
        library_name="fer_space", license="mit", pipeline_tag="image-classification",
        tags=["facial-expression-recognition", "emotion", model.architecture], datasets=[dataset_type],
        metrics=["accuracy", "f1"], model_name=model_dir.name if repo_hint is None else repo_hint,
        eval_results=results,
    )
    rows = "\n".join(
        f"| {name} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |"
        for name, m in metrics["per_class"].items()
    )
    name = train_cfg.get("model", model.architecture)
    colour = "grey" if model.in_chans == 1 else "RGB"
    first_line = (f"{model.description[0].upper()}{model.description[1:]}, on {model.img_size} px {colour} faces: "
                  f"{metrics['accuracy']:.2%} accuracy on {pretty} {split} ({metrics['n']:,} faces"
                  + (", validation split" if split == "PublicTest" else "") + ").")
    return ModelCard.from_template(
        data, template_str=TEMPLATE, title=title or f"{name} for facial expression recognition", first_line=first_line,
        emotions=", ".join(EMOTIONS), architecture=model.architecture, params=f"{count_params(model) / 1e6:.2f} M",
        img_size=model.img_size, colour=colour, dataset=pretty, split=split,
        n=metrics["n"], when=_when(metrics), members=_members_table(metrics),
        tta=_tta(metrics, getattr(model, "flip", False)), calibration=_calibration(metrics), int8=_int8(metrics),
        accuracy=f"{metrics['accuracy']:.4f}", f1_weighted=f"{metrics['f1_weighted']:.4f}",
        f1_macro=f"{metrics['f1_macro']:.4f}", per_class_rows=rows,
        command=command or "(see train_config.json)",
        train_config=json.dumps({k: v for k, v in train_cfg.items() if k not in ("histories", "command")}, indent=2),
        repo_hint=repo_hint or str(model_dir),
    )


def _tta(metrics: dict, built_in_flip: bool) -> str:
    if built_in_flip:
        return ", as the app runs it: each member also reads the mirrored face (built into the model)"
    if metrics.get("tta_flip"):
        return ", with horizontal-flip test-time averaging"
    if "accuracy_with_flip_tta" in metrics:
        flip_accuracy = metrics["accuracy_with_flip_tta"]
        return f", single pass as the app runs it (with flip averaging: accuracy {flip_accuracy:.4f})"
    return ""


def _calibration(metrics: dict) -> str:
    """The calibration section, when the model has been calibrated (``training.calibrate``)."""
    c = metrics.get("calibration")
    if not c:
        return ""
    if c["answered_accuracy"] is None:
        unsure = (f"No confidence level reaches {c['target_accuracy']:.0%} accuracy on this split, so every face is "
                  "reported as unsure with its two leading expressions.")
    else:
        unsure = (f"A face whose calibrated top probability is below {c['unsure_below']:.2f} is reported as unsure "
                  f"with its two leading expressions: the faces answered ({c['coverage']:.1%} of them) are read "
                  f"right {c['answered_accuracy']:.1%} of the time (all faces: {c['accuracy']:.1%}).")
    return f"""
## Calibration

One temperature, T = {c['temperature']:.3f}, fitted on {c['split']} ({c['n']:,} faces) and applied to every
prediction: expected calibration error ({c['bins']} bins) {c['ece_before']:.3f} -> {c['ece_after']:.3f},
negative log-likelihood {c['nll_before']:.3f} -> {c['nll_after']:.3f}. {unsure} Both numbers were fitted
and measured on the same split.

![reliability diagram](reliability.png)
"""


def _int8(metrics: dict) -> str:
    """The int8 section, when the model's activation ranges have been measured (``training.quantize``)."""
    q = metrics.get("int8")
    if not q:
        return ""
    f, i = q["float32"], q["int8"]
    return f"""
## int8 on CPU

On a CPU the app runs this model in int8 on ONNX Runtime (weights per output channel, activations with
ranges measured on {q['calibration_faces']} training faces; `python -m training.quantize`). On {q['split']}
({q['n']:,} faces): accuracy {i['accuracy']:.4f} (float32 {f['accuracy']:.4f}), weighted F1
{i['f1_weighted']:.4f} ({f['f1_weighted']:.4f}), macro F1 {i['f1_macro']:.4f} ({f['f1_macro']:.4f}).
"""


def _when(metrics: dict) -> str:
    if "members" in metrics:
        epochs = ", ".join(str(m.get("epoch", "?")) for m in metrics["members"])
        if len(metrics["members"]) == 1:
            return f"one trained model (its best epoch: {epochs})"
        return f"an ensemble of {len(metrics['members'])} trained models (their best epochs: {epochs})"
    return f"epoch {metrics.get('epoch', '?')}"


def _members_table(metrics: dict) -> str:
    """For an ensemble: each member's own figures on the same split."""
    if "members" not in metrics:
        return ""
    rows = "\n".join(f"| `{m['run']}` | {m.get('epoch', '?')} | {m['accuracy']:.4f} | {m['f1_weighted']:.4f} | "
                     f"{m['accuracy_with_flip_tta']:.4f} |" for m in metrics["members"])
    return ("Each member alone, same split:\n\n| member run | best epoch | accuracy | weighted F1 | "
            "accuracy with flip averaging |\n|---|---|---|---|---|\n" + rows + "\n\n")


def write_card(
    run_dir: str | Path, *, repo_hint: str | None = None, command: str | None = None, title: str | None = None
) -> Path:
    """Complete ``RUN/best`` with ``README.md``, ``confusion.png``, ``curves.png`` and the training config
    (which keeps the command, so the card can be written again from the model folder alone)."""
    run_dir = Path(run_dir)
    best = run_dir / "best"
    if command is None and (run_dir / "command.txt").exists():
        command = (run_dir / "command.txt").read_text().strip()
    if (run_dir / "config.json").exists():
        config = json.loads((run_dir / "config.json").read_text())
        if command:
            config["command"] = command
        (best / "train_config.json").write_text(json.dumps(config, indent=2))
    if (run_dir / "curves.png").exists():
        shutil.copyfile(run_dir / "curves.png", best / "curves.png")
    metrics = json.loads((best / "metrics.json").read_text())
    plot_confusion(metrics["confusion_matrix"], EMOTIONS, best / "confusion.png",
                   f"{metrics.get('split', '')} accuracy {metrics['accuracy']:.3f}")
    build_card(best, repo_hint=repo_hint, command=command, title=title).save(best / "README.md")
    return best / "README.md"


def rewrite_card(model_dir: str | Path, *, repo_hint: str | None = None, title: str | None = None) -> Path:
    """Write ``README.md`` again from a model folder's own files (e.g. a shipped model, after a change
    of the card's template)."""
    model_dir = Path(model_dir)
    train_cfg_path = model_dir / "train_config.json"
    command = json.loads(train_cfg_path.read_text()).get("command") if train_cfg_path.exists() else None
    build_card(model_dir, repo_hint=repo_hint, command=command, title=title).save(model_dir / "README.md")
    return model_dir / "README.md"


def main(argv: list[str] | None = None) -> int:
    """``python -m training.card FOLDER [FOLDER ...]``: write the cards of shipped model folders again."""
    from fer_space.sources import DISPLAY_NAMES, embedded_source

    p = argparse.ArgumentParser(prog="python -m training.card", description=main.__doc__.split(": ")[1])
    p.add_argument("folders", nargs="+", type=Path)
    for folder in p.parse_args(argv).folders:
        source = embedded_source(folder)
        print(rewrite_card(folder, repo_hint=source, title=DISPLAY_NAMES.get(source or "")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
