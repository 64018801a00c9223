"""Training augmentation (the seed's: flip, rotation, translation, colour jitter), built from the
model's config on top of the core's eval transform."""

from __future__ import annotations

from dataclasses import dataclass, replace

from torchvision.transforms import v2

from fer_space.models.base import FERClassifier
from fer_space.preprocess import channel_transform, tensor_tail


@dataclass
class AugmentConfig:
    """Strengths of the training augmentation; zeros switch a part off."""

    hflip: float = 0.5
    rotation: float = 10.0
    translate: float = 0.1
    scale: tuple[float, float] = (0.9, 1.1)
    brightness: float = 0.3
    contrast: float = 0.3
    erasing: float = 0.25
    blur: float = 0.0  # probability of a Gaussian blur, sigma drawn up to blur_sigma pixels of the stored face
    blur_sigma: float = 1.5
    jpeg: float = 0.0  # probability of a JPEG round trip at a quality drawn from jpeg_quality
    jpeg_quality: tuple[int, int] = (15, 90)

    def scaled(self, strength: float) -> AugmentConfig:
        """Every part but the mirror at ``strength`` (0-1) times its own (the scale range shrinks to 1)."""
        lo, hi = self.scale
        return replace(self, rotation=self.rotation * strength, translate=self.translate * strength,
                       scale=(1 + (lo - 1) * strength, 1 + (hi - 1) * strength),
                       brightness=self.brightness * strength, contrast=self.contrast * strength,
                       erasing=self.erasing * strength, blur=self.blur * strength, jpeg=self.jpeg * strength)


def train_transform(model: FERClassifier, aug: AugmentConfig) -> v2.Compose:
    """uint8 face -> augmented, normalised tensor in the model's input format."""
    steps: list[v2.Transform] = [v2.ToImage(), channel_transform(model.in_chans)]
    if aug.hflip:
        steps.append(v2.RandomHorizontalFlip(aug.hflip))
    if aug.rotation or aug.translate or tuple(aug.scale) != (1.0, 1.0):
        steps.append(v2.RandomAffine(degrees=aug.rotation, translate=(aug.translate,) * 2, scale=tuple(aug.scale)))
    if aug.brightness or aug.contrast:
        steps.append(v2.ColorJitter(brightness=aug.brightness, contrast=aug.contrast))
    if aug.blur:
        steps.append(v2.RandomApply([v2.GaussianBlur(kernel_size=7, sigma=(0.1, aug.blur_sigma))], p=aug.blur))
    if aug.jpeg:
        steps.append(v2.RandomApply([v2.JPEG(quality=tuple(aug.jpeg_quality))], p=aug.jpeg))
    steps += tensor_tail(model)
    if aug.erasing:
        steps.append(v2.RandomErasing(p=aug.erasing, scale=(0.02, 0.15)))
    return v2.Compose(steps)
