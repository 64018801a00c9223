"""torchrun with 2 processes (gloo, CPU) trains like one process with the same global batch, and a
run whose rank was SIGKILLed continues with --resume."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
import yaml

from training.checkpoint import load_state
from training.config import TrainConfig
from training.train import train

from .conftest import ROOT
from .test_training import make_fer_csv

TORCHRUN = Path(sys.executable).with_name("torchrun")


def _config(data: Path, output: Path, epochs: int) -> dict:
    """A run that two processes can reproduce exactly: no BatchNorm (Swin has LayerNorm), no dropout,
    no augmentation, fp32, SGD (linear in the gradients, so reduction order cannot flip a step)."""
    return {"model": "swin_nano", "model_args": {"drop_rate": 0.0, "drop_path_rate": 0.0}, "data": str(data),
            "epochs": epochs, "batch_size": 16, "optimizer": "sgd", "lr": 0.05, "warmup_epochs": 0.5,
            "augment": {"hflip": 0, "rotation": 0, "translate": 0, "scale": [1.0, 1.0], "brightness": 0,
                        "contrast": 0, "erasing": 0},
            "precision": "fp32", "threads": 1, "tta_flip": False, "patience": 100, "output": str(output)}


def _torchrun(config: Path, *extra: str) -> subprocess.Popen:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([str(TORCHRUN), "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
                             "--master_port", str(port), "-m", "training.train", "--config", str(config), *extra],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)


def _same_weights(a: Path, b: Path) -> None:
    left, right = load_state(a)["model"], load_state(b)["model"]
    assert left.keys() == right.keys()
    for key in left:
        torch.testing.assert_close(left[key], right[key], rtol=1e-4, atol=1e-5, msg=key)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return make_fer_csv(tmp_path_factory.mktemp("ddp") / "fer2013.csv.gz", n_train=64, n_val=21)


def test_two_processes_train_like_one_with_the_same_global_batch(data, tmp_path):
    train(TrainConfig.from_dict(_config(data, tmp_path / "one", epochs=1)))
    config = tmp_path / "two.yaml"
    config.write_text(yaml.safe_dump(_config(data, tmp_path / "two", epochs=1)))
    proc = _torchrun(config)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert "x 2 processes" in out and out.count('"epochs_run": 1') == 1  # one line of results, from rank 0
    _same_weights(tmp_path / "one" / "last.pt", tmp_path / "two" / "last.pt")
    one = [line for line in (tmp_path / "one" / "metrics.jsonl").read_text().splitlines()]
    two = [line for line in (tmp_path / "two" / "metrics.jsonl").read_text().splitlines()]
    assert len(one) == len(two) == 1 and {"two", "one"} == {p.name for p in tmp_path.iterdir() if p.is_dir()}
    for key in ("train_loss", "train_accuracy", "val_accuracy"):  # reduced over both ranks
        assert yaml.safe_load(one[0])[key] == pytest.approx(yaml.safe_load(two[0])[key], abs=1e-5)


def test_a_killed_rank_and_resume_continue_the_run(data, tmp_path):
    epochs = 6
    train(TrainConfig.from_dict(_config(data, tmp_path / "one", epochs=epochs)))
    config = tmp_path / "two.yaml"
    config.write_text(yaml.safe_dump(_config(data, tmp_path / "two", epochs=epochs)))
    last = tmp_path / "two" / "last.pt"
    proc = _torchrun(config)
    deadline = time.time() + 120
    while not last.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    workers = subprocess.run(["pgrep", "-f", "-P", str(proc.pid), "training.train"], capture_output=True,
                             text=True).stdout.split()
    assert workers, "no training process to kill"
    os.kill(int(workers[-1]), signal.SIGKILL)  # one rank dies mid-run
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out
    done = load_state(last)["epoch"] + 1
    assert 1 <= done < epochs
    proc = _torchrun(config, "--resume")
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, out
    assert f"resumed from {last} at epoch {done}" in out
    assert load_state(last)["epoch"] + 1 == epochs
    _same_weights(tmp_path / "one" / "last.pt", last)
