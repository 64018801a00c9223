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


def serve_timm_checkpoint(hub, name: str, folder) -> dict:
    """Publish timm's ``name`` with random weights on the local Hub, under the repo id and in the file
    layout timm downloads (``timm/NAME.TAG``: model.safetensors + config.json); returns its weights."""
    import timm
    import torch
    from timm.models import get_pretrained_cfg
    from timm.models._hub import save_for_hf

    torch.manual_seed(7)
    model = timm.create_model(name, pretrained=False)
    save_for_hf(model, folder, safe_serialization="both")
    hub.state.seed_folder(get_pretrained_cfg(name).hf_hub_id, folder)
    return model.state_dict()


def test_the_full_size_config_starts_both_branches_from_the_hub_s_imagenet_weights(hub, sources, tmp_path):
    """The path of users with a GPU and the Hub: ``pretrained_backbones: true`` in the full-size config
    loads timm's Swin-T and ResNet-50 checkpoints, by timm's own repo names, into both branches; then one
    training step runs."""
    import torch

    from training.train import build_model

    swin = serve_timm_checkpoint(hub, "swin_tiny_patch4_window7_224", tmp_path / "swin")
    resnet = serve_timm_checkpoint(hub, "resnet50", tmp_path / "resnet")
    cfg = TrainConfig.from_yaml(CONFIGS / "swin_se_resnet_fer2013_gpu.yaml").to_dict()
    assert cfg["model"] == "swin_se_resnet" and cfg["pretrained_backbones"] is True
    cfg.update(data=str(sources[0]), epochs=1, limit=4, batch_size=2, workers=0, threads=2, precision="fp32",
               output=str(tmp_path / "run"), tta_flip=False)
    model = build_model(TrainConfig.from_dict(cfg))
    for branch, served in (("swin", swin), ("resnet", resnet)):
        own = getattr(model, branch).state_dict()
        shared = [k for k in own if k in served and not k.startswith(("head", "fc"))]
        assert len(shared) > 100 and all(torch.equal(own[k], served[k]) for k in shared), branch
    result = train(TrainConfig.from_dict(cfg))
    assert result["epochs_run"] == 1 and (tmp_path / "run" / "best" / "model.safetensors").is_file()
