"""Hugging Face Space entry point: build the app (fer_space.app) and serve it."""

from fer_space.app import build_demo, launch

demo = build_demo()

if __name__ == "__main__":
    launch(demo)
