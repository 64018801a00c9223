"""Decode anything a user may hand us into an RGB ``uint8`` array (H, W, 3)."""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

# Photos above MAX_PIXELS (a 108 MP phone photo) are read scaled down to fit it (a JPEG decodes at 1/2,
# 1/4 or 1/8 scale where that still fits); above BOMB_PIXELS, Pillow's own limit (twice its
# MAX_IMAGE_PIXELS), an image is refused before decoding (decompression bombs).
MAX_PIXELS = 50_000_000
BOMB_PIXELS = 2 * Image.MAX_IMAGE_PIXELS
MIN_SIDE = 16


def _from_pil(img: Image.Image) -> np.ndarray:
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = arr.max() if arr.max() > 255 else 255
        img = Image.fromarray((arr / top * 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"))


def _check_size(width: int, height: int) -> None:
    if width * height > BOMB_PIXELS:
        raise ImageError(f"image is {width}x{height} pixels; the limit is {BOMB_PIXELS // 1_000_000} megapixels")
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"image is {width}x{height} pixels; each side must be at least {MIN_SIDE}")


def decode_bytes(data: bytes, name: str = "image") -> np.ndarray:
    """Decode encoded image bytes (JPEG, PNG, WebP, GIF first frame, BMP, TIFF...) to RGB."""
    if not data:
        raise ImageError(f"{name} is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limits apply
            img = Image.open(io.BytesIO(data))
            _check_size(*img.size)
            if img.width * img.height > MAX_PIXELS:
                scale = (MAX_PIXELS / (img.width * img.height)) ** 0.5
                target = (max(1, int(img.width * scale)), max(1, int(img.height * scale)))
                img.draft("RGB", target)  # JPEG: decode at a reduced scale (a no-op for other formats)
                img.thumbnail(target, Image.Resampling.LANCZOS)
            img.load()
            return _from_pil(img)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{name} is too large: over {BOMB_PIXELS // 1_000_000} megapixels") from exc
    except UnidentifiedImageError as exc:
        raise ImageError(f"{name} is not an image we can read ({type(exc).__name__})") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise ImageError(f"{name} could not be decoded: {exc}") from exc


def array_to_rgb(arr: np.ndarray, *, bgr: bool = False) -> np.ndarray:
    """Normalise an array: grey (H, W) / (H, W, 1), RGB, RGBA, BGR(A) with ``bgr``; uint8, uint16 or
    floats in [0, 1]."""
    if not isinstance(arr, np.ndarray):
        raise ImageError(f"expected a numpy array, got {type(arr).__name__}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageError(f"array of shape {arr.shape} is not an image (expected HxW, HxWx3 or HxWx4)")
    _check_size(arr.shape[1], arr.shape[0])
    if arr.dtype == np.uint8:
        pass
    elif arr.dtype == np.uint16:
        arr = (arr / 257).astype(np.uint8)
    elif np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all():
            raise ImageError("image array contains NaN or infinite values")
        if arr.min() < 0 or arr.max() > 1:
            raise ImageError("float image arrays must hold values in [0, 1]")
        arr = (arr * 255).round().astype(np.uint8)
    elif arr.dtype == np.bool_:
        arr = arr.astype(np.uint8) * 255
    else:
        raise ImageError(f"unsupported image array dtype {arr.dtype}")
    if arr.ndim == 2:
        return np.repeat(arr[:, :, None], 3, axis=2)
    if bgr:
        arr = arr[:, :, 2::-1] if arr.shape[2] == 3 else arr[:, :, [2, 1, 0, 3]]
    if arr.shape[2] == 4:
        alpha = arr[:, :, 3:4].astype(np.float32) / 255
        arr = (arr[:, :, :3] * alpha + 255 * (1 - alpha)).round().astype(np.uint8)
    return np.ascontiguousarray(arr)


def load_image(image: str | Path | bytes | Image.Image | np.ndarray, *, bgr: bool = False) -> np.ndarray:
    """A path, encoded bytes, a PIL image or an array -> RGB ``uint8`` (H, W, 3)."""
    if isinstance(image, np.ndarray):
        return array_to_rgb(image, bgr=bgr)
    if isinstance(image, Image.Image):
        _check_size(*image.size)
        return _from_pil(image)
    if isinstance(image, (bytes, bytearray)):
        return decode_bytes(bytes(image))
    if isinstance(image, (str, Path)):
        path = Path(image)
        if not path.is_file():
            raise ImageError(f"no such file: {path}")
        return decode_bytes(path.read_bytes(), name=path.name)
    raise ImageError(f"cannot read an image from {type(image).__name__}")
