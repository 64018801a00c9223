"""The base every classifier shares: ``nn.Module`` + ``PyTorchModelHubMixin``.

A checkpoint is a folder (local, embedded or a Hub repo) holding ``model.safetensors`` and
``config.json``. The config holds the constructor arguments of the model plus ``architecture``,
so :func:`fer_space.models.load_model` can rebuild any checkpoint without knowing its class.
Loading is strict (missing or unexpected keys fail) and reads safetensors only: no pickle, no
backbone download. Weights may be stored in float16 or in int8 (``storage``); both load as float32.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any, ClassVar

import safetensors.torch
import torch
from huggingface_hub import PyTorchModelHubMixin, hf_hub_download
from torch import nn

from ..confidence import Calibration
from ..labels import EMOTIONS, id2label_dict, labels_from_id2label
from .storage import CONFIG_NAME, UNEVALUATED_CARD, WEIGHTS_NAME, dequantize_int8, read_config

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# What a model reads, the preprocessing facts every model records in its config.json. ImageNet's RGB
# 224 px for the full-size backbones; FER2013's 48 px grey faces for the CPU-scale models.
# The crop (``crop_margin``, ``crop_align``) is the framing of the faces a model was trained on, measured
# for FER2013 with ``training.pipeline_eval`` (docs/crop.md): a square of 0.95 x the detector's box
# height about its centre (margin -0.025 on the box's longer side), the eyes not levelled.
FER2013_CROP = {"crop_margin": -0.025, "crop_align": False}
IMAGENET_INPUT = {"img_size": 224, "in_chans": 3, "mean": IMAGENET_MEAN, "std": IMAGENET_STD, **FER2013_CROP}
FER48_INPUT = {"img_size": 48, "in_chans": 1, "mean": (0.5,), "std": (0.25,), **FER2013_CROP}
# Keys of config.json that are not constructor arguments.
NOT_ARGUMENTS = ("architecture", "calibration", "int8")


class FERClassifier(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="fer_space",
    tags=["facial-expression-recognition", "image-classification"],
    pipeline_tag="image-classification",
    license="mit",
    model_card_template=UNEVALUATED_CARD,
):
    """Common interface, timm's split: ``forward_features(x)`` -> ``forward_head(features)`` -> logits
    over ``self.labels``; ``gradcam_layers()`` names the layers Grad-CAM reads; the preprocessing facts
    (``img_size``, ``in_chans``, ``mean``, ``std``, ``crop_margin``, ``crop_align``) default to
    ``default_input``.

    Subclasses set ``architecture`` (the name ``config.json`` records), register with
    ``@register_architecture``, and pass their keyword arguments' rest to ``super().__init__``.
    """

    architecture: str = ""
    default_input: ClassVar[dict[str, Any]] = IMAGENET_INPUT

    def __init__(
        self,
        *,
        id2label: dict[str, str] | None = None,
        img_size: int | None = None,
        in_chans: int | None = None,
        mean: tuple[float, ...] | list[float] | None = None,
        std: tuple[float, ...] | list[float] | None = None,
        crop_margin: float | None = None,
        crop_align: bool | None = None,
    ) -> None:
        super().__init__()
        given = {"img_size": img_size, "in_chans": in_chans, "mean": mean, "std": std, "crop_margin": crop_margin,
                 "crop_align": crop_align}
        facts = {**self.default_input, **{k: v for k, v in given.items() if v is not None}}
        img_size, in_chans, mean, std = facts["img_size"], facts["in_chans"], facts["mean"], facts["std"]
        self.labels = labels_from_id2label(id2label or id2label_dict(EMOTIONS))
        if img_size < 16:
            raise ValueError(f"img_size must be >= 16, got {img_size}")
        if in_chans not in (1, 3):
            raise ValueError(f"in_chans must be 1 (grey) or 3 (RGB), got {in_chans}")
        if len(mean) != in_chans or len(std) != in_chans:
            raise ValueError(f"mean/std need {in_chans} values, got {mean} / {std}")
        self.img_size = int(img_size)
        self.in_chans = int(in_chans)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        self.crop_margin = float(facts["crop_margin"])
        self.crop_align = bool(facts["crop_align"])
        self.record_config(img_size=self.img_size, in_chans=self.in_chans, mean=list(self.mean), std=list(self.std),
                           crop_margin=self.crop_margin, crop_align=self.crop_align)

    @classmethod
    def init_arguments(cls) -> set[str]:
        """The keyword arguments the class takes, its own and those it passes on to ``FERClassifier``."""
        names = set()
        for klass in cls.__mro__:
            if isinstance(klass, type) and issubclass(klass, FERClassifier) and "__init__" in vars(klass):
                params = inspect.signature(klass.__init__).parameters.values()
                names |= {p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY}
        return names

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's output (a feature map, or the fused features of a hybrid)."""
        raise NotImplementedError

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Pooling (where the features are a map), dropout and the linear classifier: the logits."""
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def gradcam_layers(self) -> dict[str, list[tuple[nn.Module, bool]]]:
        """Grad-CAM map name -> the layers whose outputs make it, each with whether that output is NHWC."""
        raise NotImplementedError(f"{type(self).__name__} names no Grad-CAM layers")

    def record_config(self, **values: Any) -> None:
        """Store effective values (e.g. filled-in defaults) in the config written to ``config.json``."""
        self._hub_mixin_config = {**getattr(self, "_hub_mixin_config", {}), **values}

    @property
    def description(self) -> str:
        """What the model is, in a few words for people (``human_name``, else the architecture)."""
        return getattr(self, "human_name", self.architecture)

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def calibration(self) -> Calibration:
        """The fitted temperature and unsure threshold (``T = 1``, never unsure, until calibrated)."""
        return getattr(self, "_calibration", Calibration())

    @calibration.setter
    def calibration(self, value: Calibration) -> None:
        self._calibration = value

    @property
    def int8(self) -> dict[str, Any] | None:
        """The activation ranges for int8 inference on ONNX Runtime and the quantized graph's output on
        a fixed input (``fer_space.runtime.int8``); ``None`` until measured (``training.quantize``)."""
        return getattr(self, "_int8", None)

    @int8.setter
    def int8(self, value: dict[str, Any] | None) -> None:
        self._int8 = value

    @property
    def config(self) -> dict[str, Any]:
        """The ``config.json`` content: constructor arguments, the explicit ``id2label``, ``architecture``
        and, once fitted, ``calibration`` and ``int8``."""
        config = {**self._hub_mixin_config, "id2label": id2label_dict(self.labels), "architecture": self.architecture}
        if self.calibration != Calibration():
            config["calibration"] = self.calibration.to_dict()
        if self.int8:
            config["int8"] = self.int8
        return config

    def save_pretrained(self, save_directory: str | Path, **kwargs: Any) -> str | None:
        """Write ``model.safetensors`` + ``config.json`` (with ``architecture``)."""
        if kwargs.get("config") is None:  # push_to_hub passes config=None explicitly
            kwargs["config"] = self.config
        kwargs["model_card_kwargs"] = {"title": f"{self.description} for facial expression recognition",
                                       "summary": self.summary(), **(kwargs.get("model_card_kwargs") or {})}
        return super().save_pretrained(save_directory, **kwargs)

    def summary(self) -> str:
        """One sentence: what the model is and what it reads."""
        colour = "grey" if self.in_chans == 1 else "RGB"
        return (f"{self.description} ({count_params(self) / 1e6:.2f} M parameters) classifying "
                f"{self.img_size} px {colour} face crops into {len(self.labels)} expressions "
                f"({', '.join(self.labels)}).")

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        strict: bool = True,
        **model_kwargs: Any,
    ) -> FERClassifier:
        """Build from config, then load safetensors strictly. Pickled weights are refused."""
        if not strict:
            raise ValueError("fer_space checkpoints always load strictly")
        if os.path.isdir(model_id):
            weights = os.path.join(model_id, WEIGHTS_NAME)
            if not os.path.isfile(weights):
                raise FileNotFoundError(f"{model_id} has no {WEIGHTS_NAME} (only safetensors are loaded)")
        else:
            weights = hf_hub_download(
                repo_id=model_id,
                filename=WEIGHTS_NAME,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                token=token,
                local_files_only=local_files_only,
            )
        accepted = cls.init_arguments()  # config keys the class does not take (a newer version's) are ignored
        model = cls(**{k: v for k, v in model_kwargs.items() if k in accepted})
        config_path = os.path.join(model_id, CONFIG_NAME) if os.path.isdir(model_id) else hf_hub_download(
            repo_id=model_id, filename=CONFIG_NAME, revision=revision, cache_dir=cache_dir, token=token,
            local_files_only=local_files_only)
        config = read_config(config_path)
        model.calibration = Calibration.from_dict(config.get("calibration"))
        model.int8 = config.get("int8")
        try:
            state = dequantize_int8(safetensors.torch.load_file(weights, device=map_location))
            missing, unexpected = model.load_state_dict(state, strict=False)
        except RuntimeError as exc:  # tensor shapes that do not fit the config
            raise ValueError(f"checkpoint {model_id} does not fit its config.json: {exc}") from exc
        if missing or unexpected:
            missing, unexpected = sorted(missing), sorted(unexpected)
            raise ValueError(
                f"checkpoint {model_id} does not match {cls.__name__}: "
                f"missing keys {missing[:5]}{'...' if len(missing) > 5 else ''}, "
                f"unexpected keys {unexpected[:5]}{'...' if len(unexpected) > 5 else ''}"
            )
        return model.eval()


def count_params(model: nn.Module) -> int:
    """Number of parameters."""
    return sum(p.numel() for p in model.parameters())


@torch.no_grad()
def dummy_input(model: FERClassifier, batch: int = 1) -> torch.Tensor:
    """A zero batch of the model's input shape."""
    return torch.zeros(batch, model.in_chans, model.img_size, model.img_size)
