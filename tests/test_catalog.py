"""The model catalog: full-size models only when their weights are there, Hub models tried once, loads that
do not trip over each other."""

import pytest
import torch

from fer_space.app.catalog import NOT_TRAINED, SEED_REPOS, WEIGHTS_DIR_ENV, Entry, ModelCatalog, default_entries
from fer_space.errors import ModelLoadError
from fer_space.models import create_model


@pytest.fixture
def seed_only(monkeypatch):
    monkeypatch.delenv("FER_COMPARE_REPOS", raising=False)
    monkeypatch.delenv("FER_MODEL_REPO", raising=False)
    monkeypatch.delenv(WEIGHTS_DIR_ENV, raising=False)


def test_full_size_models_without_weights_are_not_offered_and_one_line_says_why(hub, seed_only):
    catalog = ModelCatalog(default_entries(), device="cpu")
    assert not set(SEED_REPOS) & set(catalog.names())  # never probed on the Hub unless configured
    assert catalog.missing_note() == NOT_TRAINED and "GPU" in NOT_TRAINED and "\n" not in NOT_TRAINED


def test_a_missing_hub_model_is_tried_once_per_start(hub, seed_only):
    catalog = ModelCatalog([Entry("Missing", "nobody/missing")], device="cpu")
    catalog.preload().join()
    assert catalog.status("Missing")[0] == "failed" and "nobody/missing" in catalog.status("Missing")[1]
    with pytest.raises(ModelLoadError, match="Missing is unavailable"):
        catalog.get("Missing")  # answers at once from the recorded failure: no new Hub request
    assert catalog.status("Missing")[0] == "failed"


def test_full_size_weights_load_from_the_folder_named_by_the_environment(hub, seed_only, monkeypatch, tmp_path):
    name, repo_id = next(iter(SEED_REPOS.items()))
    torch.manual_seed(3)
    create_model("resnet_nano").save_pretrained(tmp_path / repo_id.rpartition("/")[2])
    monkeypatch.setenv(WEIGHTS_DIR_ENV, str(tmp_path))
    entries = {e.name: e for e in default_entries()}
    assert entries[name].source == str(tmp_path / repo_id.rpartition("/")[2])
    assert not (set(SEED_REPOS) - {name}) & set(entries)  # no folder: not offered
    predictor = ModelCatalog([entries[name]], device="cpu").get(name)
    assert predictor.source.kind == "local" and predictor.source.location == entries[name].source


def test_models_loaded_in_parallel_from_an_empty_cache_each_get_int8(monkeypatch, tmp_path, caplog):
    """ONNX exports share global state in torch: run together they failed and models fell back to slower
    backends. Every model in the pickers has int8 ranges, so each must end on int8, whatever the order."""
    from concurrent.futures import ThreadPoolExecutor

    from fer_space import Predictor
    from fer_space.sources import DISPLAY_NAMES

    monkeypatch.setenv("FER_CACHE", str(tmp_path))
    with caplog.at_level("WARNING"), ThreadPoolExecutor(len(DISPLAY_NAMES)) as pool:
        predictors = list(pool.map(lambda s: Predictor.from_pretrained(s, device="cpu"), DISPLAY_NAMES))
    assert [p.backend for p in predictors] == ["onnxruntime-int8"] * len(DISPLAY_NAMES), caplog.text
    assert "unavailable" not in caplog.text
