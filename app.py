"""Hugging Face Space entry point: build the UI from fer_space.ui and launch it."""

from fer_space.ui import build_demo, launch

demo = build_demo()

if __name__ == "__main__":
    launch(demo)
