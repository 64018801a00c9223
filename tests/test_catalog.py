"""The model catalog's full-size models: a plain line when untrained, a local folder when one is given."""

import pytest
import torch

from fer_space.catalog import NOT_TRAINED, SEED_REPOS, WEIGHTS_DIR_ENV, ModelCatalog, default_entries
from fer_space.errors import ModelLoadError
from fer_space.models import create_model


@pytest.fixture
def seed_only(monkeypatch):
    monkeypatch.delenv("FER_COMPARE_REPOS", raising=False)
    monkeypatch.delenv("FER_MODEL_REPO", raising=False)
    monkeypatch.delenv(WEIGHTS_DIR_ENV, raising=False)


def test_full_size_models_without_weights_say_so_in_one_plain_line(hub, seed_only):
    catalog = ModelCatalog([e for e in default_entries() if e.name in SEED_REPOS], device="cpu")
    for name in SEED_REPOS:
        with pytest.raises(ModelLoadError) as info:
            catalog.get(name)
        assert str(info.value) == f"{name} is unavailable: {NOT_TRAINED}"
        assert catalog.status(name) == ("failed", NOT_TRAINED)


def test_full_size_weights_load_from_the_folder_named_by_the_environment(hub, seed_only, monkeypatch, tmp_path):
    name, repo_id = next(iter(SEED_REPOS.items()))
    torch.manual_seed(3)
    create_model("resnet_nano").save_pretrained(tmp_path / repo_id.rpartition("/")[2])
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(tmp_path))
    entries = {e.name: e for e in default_entries()}
    assert entries[name].source == str(tmp_path / repo_id.rpartition("/")[2])
    others = [n for n in SEED_REPOS if n != name]
    assert all(entries[n].source == SEED_REPOS[n] for n in others)  # no folder: still the Hub
    predictor = ModelCatalog([entries[name]], device="cpu").get(name)
    assert predictor.source.kind == "local" and predictor.source.location == entries[name].source
