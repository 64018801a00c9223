"""The real huggingface_hub client against the local Hub server: push, download, revisions."""

import pytest
import torch
from huggingface_hub import HfApi, hf_hub_download

from fer_space import ModelLoadError, Predictor
from fer_space.models import create_model, load_model


def test_push_and_load_by_repo_id_and_revision(hub, examples):
    torch.manual_seed(3)
    model = create_model("compact_cnn")
    model.push_to_hub("tester/compact")
    api = HfApi()
    first = api.model_info("tester/compact").sha
    assert {"config.json", "model.safetensors", "README.md"} <= set(api.list_repo_files("tester/compact"))
    # The weights went through the LFS exchange, as on the real Hub.
    assert ("POST", "/tester/compact.git/info/lfs/objects/batch") in hub.state.requests
    assert any(method == "PUT" and path.startswith("/lfs-upload/") for method, path in hub.state.requests)

    loaded = load_model("tester/compact")
    for a, b in zip(model.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)

    # A second push moves main; the first commit stays loadable by its sha.
    torch.manual_seed(4)
    create_model("compact_cnn").push_to_hub("tester/compact")
    assert api.model_info("tester/compact").sha != first
    pinned = Predictor.from_pretrained("tester/compact", revision=first, device="cpu")
    assert pinned.source.revision == first and pinned.source.kind == "hub"
    assert torch.equal(pinned.model.head[3].weight, model.head[3].weight)
    assert pinned.predict(examples / "skimage_astronaut.png")[0].label


def test_missing_repo_revision_and_file_are_clear(hub):
    with pytest.raises(ModelLoadError, match="nobody/nothing"):
        Predictor.from_pretrained("nobody/nothing", device="cpu")
    create_model("compact_cnn").push_to_hub("tester/revs")
    with pytest.raises(ModelLoadError, match="revision deadbeef"):
        Predictor.from_pretrained("tester/revs", revision="deadbeef", device="cpu")
    with pytest.raises(Exception, match="does not exist"):
        hf_hub_download("tester/revs", "nothing.txt")


def test_env_repo_falls_back_to_embedded_only_when_one_exists(hub, monkeypatch):
    from fer_space import sources

    monkeypatch.setenv("FER_MODEL_REPO", "nobody/missing")
    if (sources.DEFAULT_DIR / "model.safetensors").exists():
        model, src = sources.resolve_and_load(None)
        assert src.kind == "embedded" and "nobody/missing" in src.note
    else:
        with pytest.raises(ModelLoadError, match="no trained model is embedded"):
            sources.resolve_and_load(None)


def test_catalog_prefers_the_configured_hub_model_and_falls_back(hub, monkeypatch):
    from fer_space.app.catalog import DEFAULT_NAME, ModelCatalog, default_entries
    from fer_space.sources import DEFAULT_DIR

    if not (DEFAULT_DIR / "model.safetensors").exists():
        pytest.skip("no embedded model")
    create_model("compact_cnn").push_to_hub("tester/main-model")
    monkeypatch.setenv("FER_MODEL_REPO", "tester/main-model")
    monkeypatch.setenv("FER_COMPARE_REPOS", "x=nobody/x")
    catalog = ModelCatalog(default_entries(), device="cpu")
    assert catalog.default_name() == "tester/main-model (Hub)"
    monkeypatch.setenv("FER_MODEL_REPO", "nobody/unreachable")
    catalog = ModelCatalog(default_entries(), device="cpu")
    assert catalog.default_name() == DEFAULT_NAME
    state, reason = catalog.status("nobody/unreachable (Hub)")
    assert state == "failed" and "nobody/unreachable" in reason
