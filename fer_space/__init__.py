"""fer_space: facial expression recognition (Swin-SE-ResNet and friends), the shared inference core.

    from fer_space import Predictor
    faces = Predictor.from_pretrained().predict("photo.jpg")
"""

from .errors import FERError, ImageError, ModelLoadError
from .labels import EMOTIONS
from .models import create_model, list_models, load_model
from .predictor import FaceResult, Prediction, Predictor

__all__ = [
    "EMOTIONS",
    "FERError",
    "FaceResult",
    "ImageError",
    "ModelLoadError",
    "Prediction",
    "Predictor",
    "create_model",
    "list_models",
    "load_model",
]
