"""Training configuration: one dataclass, read from YAML, overridable from the command line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from .transforms import AugmentConfig


@dataclass
class TrainConfig:
    """Everything a run depends on. Saved into every checkpoint and the model card."""

    model: str = "compact_cnn"
    model_args: dict[str, Any] = field(default_factory=dict)
    pretrained_backbones: bool = False  # ImageNet weights for timm backbones (needs the Hub)
    # branch -> model folder: start this branch ("swin", "resnet") from that model's trained one, e.g. a
    # Swin-SE-ResNet from its branches trained alone (runs/resnet_small_fer2013/best)
    init_branches: dict[str, str] = field(default_factory=dict)
    # data
    data: str = "../shared/data/fer2013/fer2013.csv.gz"
    data_format: str = "auto"  # auto | fer2013_csv | folders
    train_split: str = "Training"
    val_split: str = "PublicTest"
    label_map: dict[str, str | None] | None = None  # class folder -> emotion, None drops (e.g. contempt)
    ferplus_votes: str | None = None  # fer2013new.csv: train on FER+ soft labels
    ferplus_weight: float = 1.0  # share of the FER+ votes in a face's own target; the rest is its label
    teacher: str | None = None  # model source to distil: targets mix its probabilities with the labels
    teacher_weight: float = 0.7  # share of the teacher's probabilities in the targets
    # the teacher reads each augmented batch as the student sees it (consistent teaching) instead of its
    # cached probabilities of the clean face; it must take the student's input (size, channels, mean, std)
    teacher_online: bool = False
    drop_leaks: bool = False  # drop training faces identical to a validation/test face
    limit: int | None = None  # use only this many training faces (quick runs)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    # curriculum: every augmentation but the mirror grows linearly from none at the first epoch to
    # ``augment`` at this epoch (0: full strength from the start)
    augment_ramp_epochs: float = 0.0
    # optimisation
    epochs: int = 60
    batch_size: int = 64
    optimizer: str = "adamw"  # adamw | sgd
    lr: float = 2e-3
    weight_decay: float = 0.05
    momentum: float = 0.9
    warmup_epochs: float = 2.0
    label_smoothing: float = 0.1
    class_weighting: str = "none"  # none | balanced
    balanced_sampler: bool = False
    grad_clip: float | None = 5.0
    precision: str = "auto"  # auto (bf16 on CUDA and on CPUs with native bf16, else fp32) | fp32 | bf16 | fp16
    compile: bool = False
    channels_last: bool = False  # NHWC memory layout: faster convolutions with bf16/fp16 on recent GPUs
    # selection
    monitor: str = "accuracy"  # accuracy | f1_macro | f1_weighted
    patience: int = 15
    tta_flip: bool = True
    # run
    seed: int = 0
    device: str = "auto"
    threads: int | None = None
    workers: int = 0
    output: str = "runs/default"

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        raw = yaml.safe_load(Path(path).read_text()) or {}
        return cls.from_dict(raw)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}; known: {sorted(known)}")
        raw = dict(raw)
        if "augment" in raw:
            raw["augment"] = AugmentConfig(**raw["augment"])
        return cls(**raw)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
