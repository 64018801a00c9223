import json

import pytest
import safetensors.torch
import torch

from fer_space import Predictor
from fer_space.labels import EMOTIONS, id2label_dict
from fer_space.models import create_model, list_models, load_model
from fer_space.models.base import count_params, dummy_input
from training.data.fer2013 import FER2013_ORDER

# Parameter counts pin the architectures: a change here is a change of checkpoint format.
PARAMS = {
    "compact_cnn": 1_174_439,
    "resnet50": 23_522_375,
    "resnet_nano": 1_241_863,
    "resnet_small": 11_173_831,
    "swin_nano": 568_419,
    "swin_se_resnet": 52_493_297,
    "swin_se_resnet_nano": 1_856_747,
    "swin_se_resnet_small": 14_096_991,
    "swin_small": 2_766_735,
    "swin_t": 27_524_737,
}


@pytest.mark.parametrize("name", sorted(PARAMS))
def test_forward_shape_and_params(name):
    model = create_model(name).eval()
    with torch.no_grad():
        logits = model(dummy_input(model, 2))
    assert logits.shape == (2, 7)
    assert torch.isfinite(logits).all()
    assert count_params(model) == PARAMS[name]


def test_registry_lists_every_preset():
    assert set(list_models()) == set(PARAMS)
    with pytest.raises(KeyError, match="unknown model"):
        create_model("vgg99")


def test_swin_se_resnet_has_the_seed_blocks():
    model = create_model("swin_se_resnet_nano")
    assert model.split_conv.conv.conv.groups == 4
    assert model.swin.num_features * 3 * 3 + model.resnet.num_features == model.num_features


def test_a_conv_stem_gives_the_patch_grid_of_a_linear_one():
    swin = {"embed_dim": 32, "depths": [2, 2], "num_heads": [2, 4], "patch_size": 4, "window_size": 6}
    conv = create_model("swin_nano", swin={**swin, "stem": "conv"})
    linear = create_model("swin_nano", swin=swin)
    assert conv.swin.patch_embed.grid_size == linear.swin.patch_embed.grid_size == (12, 12)
    strides = [m.stride for m in conv.swin.patch_embed.proj.modules() if isinstance(m, torch.nn.Conv2d)]
    assert strides == [(2, 2), (2, 2), (1, 1)]
    with torch.no_grad():
        maps = [m.swin.forward_features(dummy_input(m, 2)) for m in (conv, linear)]
    assert maps[0].shape == maps[1].shape == (2, 6, 6, 64)


def test_a_bad_stem_is_refused():
    with pytest.raises(ValueError, match="power of 2"):
        create_model("swin_small", swin={"patch_size": 3, "window_size": 4, "stem": "conv"})
    with pytest.raises(ValueError, match="stem must be one of"):
        create_model("swin_small", swin={"stem": "vit"})


@pytest.mark.parametrize("name", ["compact_cnn", "swin_se_resnet_nano"])
def test_save_load_round_trip_is_bit_exact(tmp_path, name):
    torch.manual_seed(1)
    model = create_model(name, drop_rate=0.1).eval()
    model.save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["architecture"] == model.architecture
    assert config["id2label"] == id2label_dict(EMOTIONS)
    assert config["img_size"] == model.img_size and config["drop_rate"] == 0.1
    loaded = load_model(tmp_path)
    assert type(loaded) is type(model)
    for (k, a), (k2, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(a, b)
    x = dummy_input(model, 3).normal_()
    with torch.no_grad():
        assert torch.equal(model(x), loaded(x))


def test_missing_keys_are_refused(tmp_path):
    model = create_model("compact_cnn")
    model.save_pretrained(tmp_path)
    state = safetensors.torch.load_file(tmp_path / "model.safetensors")
    state.pop("head.3.bias")
    safetensors.torch.save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="missing keys"):
        load_model(tmp_path)


def test_unknown_architecture_and_bad_config_are_refused(tmp_path):
    create_model("compact_cnn").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "architecture": "evil"}))
    with pytest.raises(ValueError, match="architecture 'evil'"):
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "id2label": {"0": "angry"}}))
    with pytest.raises(ValueError, match="does not fit"):  # 7 outputs cannot load into a 1-label head
        load_model(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({**config, "in_chans": 2}))
    with pytest.raises(ValueError, match="in_chans"):
        load_model(tmp_path)


def test_pickled_weights_are_never_loaded(tmp_path):
    model = create_model("compact_cnn")
    model.save_pretrained(tmp_path)
    torch.save(model.state_dict(), tmp_path / "pytorch_model.bin")
    (tmp_path / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="only safetensors"):
        load_model(tmp_path)


def test_label_order_comes_from_the_checkpoint(tmp_path, examples):
    """A model trained in FER2013's index order reports the same faces with the same names."""
    torch.manual_seed(2)
    canonical = create_model("compact_cnn").eval()
    fer_order = create_model("compact_cnn", id2label=id2label_dict(FER2013_ORDER)).eval()
    # Same weights, head rows permuted into FER2013 order.
    state = canonical.state_dict()
    perm = [EMOTIONS.index(name) for name in FER2013_ORDER]
    state["head.3.weight"] = state["head.3.weight"][perm]
    state["head.3.bias"] = state["head.3.bias"][perm]
    fer_order.load_state_dict(state)
    fer_order.save_pretrained(tmp_path / "fer")
    canonical.save_pretrained(tmp_path / "canonical")
    a = Predictor.from_pretrained(str(tmp_path / "canonical"), device="cpu").predict(examples / "skimage_astronaut.png")
    b = Predictor.from_pretrained(str(tmp_path / "fer"), device="cpu").predict(examples / "skimage_astronaut.png")
    assert a[0].label == b[0].label
    for name in EMOTIONS:
        assert a[0].probabilities[name] == pytest.approx(b[0].probabilities[name], abs=1e-6)


@pytest.mark.parametrize("bad", [{"img_size": 8}, {"mean": [0.5, 0.5]}, {"id2label": {"0": "angry", "1": "joy"}},
                                 {"no_such_argument": 1}])
def test_invalid_configs_are_refused(tmp_path, bad):
    create_model("compact_cnn").save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, **bad}))
    if "no_such_argument" in bad:  # unknown keys are ignored, the model still loads strictly
        assert load_model(tmp_path).img_size == 48
        return
    with pytest.raises((ValueError, KeyError)):
        load_model(tmp_path)


def _small_compact(seed, **kw):
    torch.manual_seed(seed)
    return create_model("compact_cnn", widths=[8, 16, 16, 16], **kw).eval()


@pytest.mark.parametrize("flip", [False, True])
def test_ensemble_averages_its_members_probabilities(tmp_path, flip):
    from fer_space.models import Ensemble

    members = [_small_compact(0), _small_compact(1)]
    ensemble = Ensemble.of(members, flip=flip)
    x = torch.randn(4, 1, 48, 48)
    views = (x, x.flip(3)) if flip else (x,)
    with torch.no_grad():
        expected = torch.stack([m(v).softmax(1) for m in members for v in views]).mean(0)
        assert torch.allclose(ensemble(x).softmax(1), expected, atol=1e-6)
        assert not torch.allclose(members[0](x).softmax(1), expected, atol=1e-3)  # both members count
        ensemble.save_pretrained(tmp_path)
        loaded = load_model(tmp_path)
        assert loaded.architecture == "ensemble" and loaded.flip is flip and len(loaded.members) == 2
        assert loaded.description == "ensemble of 2 compact CNNs" + (", each also reading the mirrored face" * flip)
        assert torch.equal(loaded(x), ensemble(x))
    backend = Predictor.from_pretrained(str(tmp_path), device="cpu").backend
    assert backend == "onnxruntime"  # exported, and within the parity tolerance of PyTorch


@pytest.mark.parametrize("other", [{"img_size": 64}, {"id2label": id2label_dict(FER2013_ORDER)}])
def test_ensemble_refuses_members_that_read_faces_differently(other):
    from fer_space.models import Ensemble

    with pytest.raises(ValueError, match="differs from member 0"):
        Ensemble.of([_small_compact(0), _small_compact(1, **other)])


@pytest.mark.parametrize("members", [[], "compact_cnn", [{"architecture": "vgg99"}],
                                     [{"architecture": "compact_cnn", "widths": [8], "colour": "blue"}]])
def test_ensemble_configs_that_do_not_fit_are_refused(tmp_path, members):
    from fer_space.models import Ensemble

    Ensemble.of([_small_compact(0)]).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "members": members}))
    with pytest.raises(ValueError, match="ensemble"):
        load_model(tmp_path)
