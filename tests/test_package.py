"""The package installs with its weights: the wheel holds every embedded model, and its ``fer-space``
command reads a photo with them from outside the source tree."""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from fer_space.sources import EMBEDDED_ROOT

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_holds_the_weights_and_its_command_reads_a_photo(tmp_path, examples):
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "artifacts",
                                                                "__pycache__", ".pytest_cache", ".ruff_cache"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(tmp_path / "dist"), str(source)], check=True)
    wheel = next((tmp_path / "dist").glob("fer_space-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for model in (d for d in EMBEDDED_ROOT.iterdir() if (d / "model.safetensors").is_file()):
        for file in ("model.safetensors", "config.json"):
            assert f"fer_space/embedded/{model.name}/{file}" in names
    assert "fer_space/app/about.md" in names and "training/configs/swin_small_fer2013_cpu.yaml" in names

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True)
    run = subprocess.run([str(target / "bin" / "fer-space"), "predict", str(examples / "skimage_astronaut.png"),
                          "--json"], cwd=tmp_path, env={"PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1",
                                                        "FER_CACHE": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    record = json.loads(run.stdout)
    assert len(record["faces"]) == 1 and record["model"]["source"].startswith("embedded default model")


def test_the_core_stays_small_and_gradio_stays_in_the_app():
    package = ROOT / "fer_space"
    for path in package.rglob("*.py"):
        source = path.read_text()
        assert len(source.splitlines()) <= 250, f"{path.relative_to(ROOT)} has grown past 250 lines"
        if "app" not in path.relative_to(package).parts:
            assert "import gradio" not in source, f"{path.relative_to(ROOT)} imports gradio outside fer_space/app"
