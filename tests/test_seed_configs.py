"""The seed's three training runs (FER2013, AffectNet, FER2013 + AffectNet combined) run end to end on
small fixtures shaped like the real data sets: the configs' data settings as they are, a small
model and one epoch instead of the full-size ones."""

import json

import numpy as np
import pytest
from PIL import Image

from training.config import TrainConfig
from training.data import load_faces
from training.data.combine import main as combine_main
from training.data.leakage import leakage_report
from training.train import train

from .conftest import ROOT
from .test_training import make_fer_csv

CONFIGS = ROOT / "training" / "configs"


def make_affectnet(root, per_class: int = 6, seed: int = 0):
    """AffectNet's export layout: train/ and val/ with numbered class folders 0-7 (7 = contempt), RGB
    JPEGs of varying sizes, each class a learnable blob like the FER2013 fixture's."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", per_class), ("val", 2)):
        for number in range(8):
            folder = root / split / str(number)
            folder.mkdir(parents=True)
            for i in range(n):
                side = int(rng.integers(60, 120))
                img = rng.integers(0, 60, (side, side, 3), dtype=np.uint8)
                c = side * (number + 1) // 10
                img[c : c + side // 6, :, :] = 220
                Image.fromarray(img).save(folder / f"{split}_{number}_{i}.jpg", quality=95)
    return root


def _one_epoch(config: str, data, output) -> dict:
    cfg = TrainConfig.from_yaml(CONFIGS / config).to_dict()
    cfg.update(data=str(data), model="swin_se_resnet_nano", pretrained_backbones=False, epochs=1, batch_size=16,
               workers=0, threads=2, output=str(output), tta_flip=False)
    return train(TrainConfig.from_dict(cfg))


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    root = tmp_path_factory.mktemp("seed")
    return make_fer_csv(root / "fer2013.csv.gz", n_train=56, n_val=21), make_affectnet(root / "affectnet")


def test_seed_fer2013_config_runs_an_epoch(sources, tmp_path):
    assert _one_epoch("swin_se_resnet_fer2013_gpu.yaml", sources[0], tmp_path / "run")["epochs_run"] == 1
    assert (tmp_path / "run" / "best" / "model.safetensors").is_file()


def test_seed_affectnet_config_runs_an_epoch_without_contempt(sources, tmp_path):
    faces = load_faces(sources[1])
    assert set(faces.splits.tolist()) == {"train", "val"} and len(faces) == 7 * 8  # contempt dropped
    assert _one_epoch("swin_se_resnet_affectnet_gpu.yaml", sources[1], tmp_path / "run")["epochs_run"] == 1


def test_seed_combined_set_is_built_without_leaks_and_trains(sources, tmp_path, capsys):
    fer_csv, affectnet = sources
    out = tmp_path / "combined"
    assert combine_main([str(fer_csv), str(affectnet), "--targets", "seed", "--scale", "0.004", "--size", "64",
                         "--rgb", "--output", str(out)]) == 0
    report = json.loads(capsys.readouterr().out)
    combined = load_faces(out, size=64, grey=False)
    assert combined.images.shape[1:] == (64, 64, 3)
    assert report["leakage"]["groups_crossing_splits"] == 0 == leakage_report(combined)["groups_crossing_splits"]
    counts = report["faces_per_split"]
    assert counts["train"] == sum(round(round(t * 0.004) * 0.8) for t in (5992, 3900, 5589, 5568, 5894, 5661, 5946))
    assert 0 < counts["val"] < counts["train"] and 0 < counts["test"]
    assert _one_epoch("swin_se_resnet_fer2013_affectnet_gpu.yaml", out, tmp_path / "run")["epochs_run"] == 1
