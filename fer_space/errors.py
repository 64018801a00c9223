"""Exceptions with messages meant for people: the CLI prints them, the app shows them."""


class FERError(Exception):
    """Base of every error fer_space raises on purpose."""


class ImageError(FERError, ValueError):
    """The input is not an image we can read (empty, truncated, not an image, too large...)."""


class ModelLoadError(FERError, RuntimeError):
    """A model could not be loaded (unreachable Hub, missing or mismatched weights, bad config)."""


class VideoError(FERError, ValueError):
    """A video that cannot be read, has no frames, or is beyond the limits."""
