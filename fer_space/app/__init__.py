"""The Gradio app over the inference core: the only place that imports gradio.

``build_demo()`` returns the Blocks, ``launch()`` serves them (``app.py`` does both)."""

from .layout import build_demo, launch

__all__ = ["build_demo", "launch"]
