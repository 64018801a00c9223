"""Image inputs whose uploads reach the app as file paths, undecoded by Gradio, so that the core's
decoder (EXIF rotation, 16-bit, size limits) reads them and says plainly what is wrong with a bad file.

The component's ``preprocess`` is wrapped on the instance rather than in a subclass: Gradio writes a
``.pyi`` stub beside the module of every component subclass, which would write into the package."""

from __future__ import annotations

from typing import Any

import gradio as gr


def path_upload(**kwargs: Any) -> gr.Image:
    """A ``gr.Image`` (``type="filepath"``) that hands over the uploaded file itself."""
    image = gr.Image(type="filepath", **kwargs)
    decode = image.preprocess

    def preprocess(payload):
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return payload.path
        return decode(payload)

    image.preprocess = preprocess
    return image
