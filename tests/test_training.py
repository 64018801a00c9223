"""training/: readers on small fixtures in the real formats, the loop, resume, metrics, push."""

import csv
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import ModelCard
from PIL import Image
from safetensors import safe_open

from fer_space import EMOTIONS, Predictor
from fer_space.errors import ModelLoadError
from fer_space.models import create_model, load_model
from training.config import TrainConfig
from training.data import load_faces, read_fer2013_csv
from training.data.combine import combine, rebalance, stratified_split
from training.data.fer2013 import FER2013_ORDER, ferplus_soft_labels
from training.data.folders import read_split_folders
from training.data.leakage import drop_leaks, leakage_report
from training.metrics import classification_metrics
from training.push import push_run
from training.train import train

from .conftest import ROOT


def make_fer_csv(path, n_train=56, n_val=21, seed=0, gz=True):
    """A fer2013.csv with class-dependent blobs (learnable), FER2013 label order and Usage column."""
    rng = np.random.default_rng(seed)
    rows = []
    for usage, n in (("Training", n_train), ("PublicTest", n_val)):
        for i in range(n):
            fer_label = i % 7
            img = rng.integers(0, 60, (48, 48))
            img[fer_label * 6 : fer_label * 6 + 10, :] += 150  # a bright band whose place encodes the class
            rows.append((fer_label, " ".join(map(str, img.clip(0, 255).ravel())), usage))
    opener = gzip.open if gz else open
    with opener(path, "wt", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["emotion", "pixels", "Usage"])
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def fer_csv(tmp_path_factory):
    return make_fer_csv(tmp_path_factory.mktemp("data") / "fer2013.csv.gz")


def tiny_config(data, out, **kw):
    return TrainConfig.from_dict({"model": "compact_cnn", "model_args": {"widths": [8, 16, 16, 16]}, "data": str(data),
                                  "epochs": 3, "batch_size": 16, "lr": 0.01, "threads": 2, "output": str(out),
                                  "tta_flip": False, **kw})


def test_fer2013_reader_maps_labels_and_splits(fer_csv, tmp_path):
    faces = read_fer2013_csv(fer_csv)
    assert faces.images.shape == (77, 48, 48) and faces.images.dtype == np.uint8
    # Row 4 has FER label 4 = sad; stored as the canonical index of "sad".
    assert EMOTIONS[faces.labels[4]] == FER2013_ORDER[4] == "sad"
    assert (faces.splits == "PublicTest").sum() == 21
    plain = read_fer2013_csv(make_fer_csv(tmp_path / "fer2013.csv", gz=False))
    np.testing.assert_array_equal(plain.images, faces.images)
    with pytest.raises(ValueError, match="no rows"):
        read_fer2013_csv(fer_csv, usage="PrivateTest")


def make_ferplus_csv(path, rows=77, not_a_face=60):
    """FER+ votes: 8 happiness + 2 neutral on every row, except one row voted "not a face"."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Usage", "Image name", "neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                    "contempt", "unknown", "NF"])
        for i in range(rows):
            row = [0] * 10
            if i == not_a_face:
                row[9] = 10
            else:
                row[1], row[0] = 8, 2
            w.writerow(["x", f"fer{i:07d}.png", *row])
    return path


def test_ferplus_soft_labels_align_by_row(fer_csv, tmp_path):
    faces = read_fer2013_csv(fer_csv).split("PublicTest")
    votes = make_ferplus_csv(tmp_path / "fer2013new.csv")
    soft = ferplus_soft_labels(faces, votes)
    assert soft.shape == (21, 7)
    np.testing.assert_allclose(soft.sum(1), 1)
    assert soft[0, EMOTIONS.index("happy")] == pytest.approx(0.8)
    nf = list(faces.index).index(60)  # unusable votes keep the FER2013 one-hot
    assert soft[nf, faces.labels[nf]] == 1


def _write_folder(root, classes, n=3, size=(60, 50), mode="RGB"):
    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(n):
            Image.new(mode, size, color=(i * 40, 100, 50) if mode == "RGB" else i * 40).save(root / c / f"{i}.png")


def test_kaggle_folders_and_affectnet_numbers(tmp_path):
    _write_folder(tmp_path / "kaggle" / "train", ["angry", "happy", "surprise"], mode="L")
    _write_folder(tmp_path / "kaggle" / "test", ["angry", "happy"], n=2, mode="L")
    (tmp_path / "kaggle" / "test" / "happy" / "broken.jpg").write_bytes(b"not a jpeg")
    faces = read_split_folders(tmp_path / "kaggle", size=48)
    assert faces.images.shape == (13, 48, 48)
    assert (faces.splits == "train").sum() == 9 and (faces.splits == "test").sum() == 4
    # AffectNet numbering, 8 classes: contempt (7) dropped by default, or mapped on request.
    _write_folder(tmp_path / "affectnet", [str(i) for i in range(8)], n=2)
    dropped = load_faces(tmp_path / "affectnet", size=64, grey=False)
    assert dropped.images.shape == (14, 64, 64, 3) and set(dropped.splits) == {"all"}
    assert EMOTIONS[dropped.labels[0]] == "neutral"
    mapped = load_faces(tmp_path / "affectnet", size=64, grey=False, label_map={"contempt": "disgust"})
    assert len(mapped) == 16 and (mapped.labels == EMOTIONS.index("disgust")).sum() == 4
    with pytest.raises(ValueError, match="not an emotion"):
        _write_folder(tmp_path / "odd", ["banana"])
        load_faces(tmp_path / "odd")


def test_packed_faces_read_back_pixel_for_pixel(fer_csv, tmp_path):
    from training.data.pack import main as pack_main

    out = tmp_path / "packed"
    assert pack_main([str(fer_csv), "--output", str(out)]) == 0
    packed, source = load_faces(out), read_fer2013_csv(fer_csv)
    for split, folder in (("Training", "train"), ("PublicTest", "val")):
        want, got = source.split(split), packed.split(folder)
        order = np.lexsort((want.index, want.labels))  # the folder reader's order: class, then row
        assert np.array_equal(got.images, want.images[order]) and np.array_equal(got.labels, want.labels[order])
    assert pack_main([str(fer_csv), "--output", str(out), "--splits", "PrivateTest"]) == 2
    assert len(load_faces(out)) == len(source.split("Training")) + len(source.split("PublicTest"))  # kept whole


def test_stratified_split_and_rebalance(fer_csv):
    faces = read_fer2013_csv(fer_csv)
    big = combine([faces, faces, faces])  # 231 faces, 33 per class
    split = stratified_split(big, seed=1)
    for label in range(7):
        in_class = split.splits[split.labels == label]
        assert (in_class == "train").sum() == 27 and (in_class == "val").sum() == 3 and (in_class == "test").sum() == 3
    balanced = rebalance(big, {e: 40 if e == "disgust" else 20 for e in EMOTIONS})
    counts = dict(zip(EMOTIONS, balanced.class_counts(7), strict=True))
    assert counts["disgust"] == 40 and counts["happy"] == 20


def test_leakage_check_finds_planted_duplicates(fer_csv):
    faces = read_fer2013_csv(fer_csv)
    images = faces.images.copy()
    images[60] = images[4]  # a PublicTest face identical to a Training face, same label (4)
    images[61] = images[3]  # ... and one with a different label (5 vs 3)
    faces.images = images
    report = leakage_report(faces)
    assert report["groups_crossing_splits"] == 2
    assert report["images_in_crossing_groups_by_split"] == {"PublicTest": 2, "Training": 2}
    assert faces.labels[60] == faces.labels[4] and faces.labels[61] != faces.labels[3]
    assert report["groups_with_conflicting_labels"] == 1
    clean, dropped = drop_leaks(faces, "Training")
    assert dropped == 2 and len(clean) == 75


def test_metrics_match_hand_computation():
    # 2 classes of 3: true [0,0,0,1,1,2], predicted [0,0,1,1,2,2]
    m = classification_metrics(np.array([0, 0, 0, 1, 1, 2]), np.array([0, 0, 1, 1, 2, 2]), ["a", "b", "c"])
    assert m["accuracy"] == pytest.approx(4 / 6)
    # a: P 1, R 2/3, F1 0.8; b: P 1/2, R 1/2, F1 0.5; c: P 1/2, R 1, F1 2/3
    assert m["per_class"]["a"]["f1"] == pytest.approx(0.8)
    assert m["per_class"]["c"]["precision"] == pytest.approx(0.5)
    assert m["f1_macro"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert m["f1_weighted"] == pytest.approx((0.8 * 3 + 0.5 * 2 + 2 / 3) / 6)
    assert m["confusion_matrix"] == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]


def test_two_steps_lower_the_loss_on_a_fixed_batch():
    from fer_space.models import create_model

    torch.manual_seed(0)
    model = create_model("compact_cnn", widths=[8, 16, 16, 16], drop_rate=0.0)
    x, y = torch.randn(16, 1, 48, 48), torch.arange(16) % 7
    opt = torch.optim.AdamW(model.parameters(), lr=0.01)
    losses = []
    for _ in range(3):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[2] < losses[0]


def _weights(run):
    return torch.load(run / "last.pt", weights_only=True)["model"]


def test_resume_after_sigkill_repeats_the_uninterrupted_run(fer_csv, tmp_path):
    straight = tmp_path / "straight"
    train(tiny_config(fer_csv, straight))
    # Same run in a subprocess, killed with SIGKILL during epoch 2, then resumed.
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "training.train", "--data", str(fer_csv), "--output", str(killed), "--epochs", "3",
           "--threads", "2"]
    (tmp_path / "cfg.yaml").write_text(json.dumps({k: v for k, v in tiny_config(fer_csv, killed).to_dict().items()
                                                   if k not in ("augment",)}))
    cmd += ["--config", str(tmp_path / "cfg.yaml")]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not (killed / "metrics.jsonl").exists() and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    state = torch.load(killed / "last.pt", weights_only=True)
    assert state["epoch"] in (0, 1)  # a whole epoch, never half a file
    out = subprocess.run(cmd + ["--resume"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "resumed from" in out.stdout
    a, b = _weights(straight), _weights(killed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_keeps_the_runs_length_unless_told(fer_csv, tmp_path):
    from training.train import main as train_main

    run = tmp_path / "run"
    yaml = tmp_path / "cfg.yaml"  # says 1 epoch; the run was started with --epochs 2
    yaml.write_text(json.dumps({k: v for k, v in tiny_config(fer_csv, run, epochs=1).to_dict().items()
                                if k != "augment"}))
    base = ["--config", str(yaml), "--output", str(run)]
    assert train_main([*base, "--epochs", "2"]) == 0
    assert train_main([*base, "--resume"]) == 0  # nothing left to do: the run's 2 epochs, not the YAML's 1
    assert json.loads((run / "config.json").read_text())["epochs"] == 2
    assert train_main([*base, "--resume", "--epochs", "3"]) == 0  # an explicit new length extends it
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 3
    commands = (run / "command.txt").read_text().splitlines()  # the card shows every command that shaped it
    assert [c.split(str(run))[1] for c in commands] == [" --epochs 2", " --resume --epochs 3"]


def test_unwritable_output_fails_before_training(fer_csv, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = subprocess.run([sys.executable, "-m", "training.train", "--data", str(fer_csv), "--output",
                          str(blocker / "run")], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0 and "cannot write to output folder" in out.stderr
    assert "epoch" not in out.stdout


def test_train_push_download_gives_identical_predictions(hub, fer_csv, tmp_path, examples):
    run = tmp_path / "run"
    result = train(tiny_config(fer_csv, run, epochs=2))
    assert result["epochs_run"] == 2
    assert push_run(run, "tester/trained") == 0
    card = ModelCard.load("tester/trained")
    results = card.data.eval_results
    assert {r.metric_type for r in results} == {"accuracy", "f1"}
    assert all(r.dataset_split == "PublicTest" and r.dataset_type == "fer2013" for r in results)
    accuracy = json.loads((run / "best" / "metrics.json").read_text())["accuracy"]
    first_line = card.text.strip().splitlines()[2]  # after the title: what it is, its input, its accuracy
    assert first_line.startswith("**Compact CNN") and "48 px grey" in first_line and f"{accuracy:.2%}" in first_line
    assert "More Information Needed" not in card.content
    local = Predictor.from_pretrained(str(run / "best"), device="cpu")
    remote = Predictor.from_pretrained("tester/trained", device="cpu")
    assert remote.source.metrics["accuracy"] == local.source.metrics["accuracy"]
    photo = examples / "max_group.jpeg"
    assert [f.probabilities for f in local.predict(photo)] == [f.probabilities for f in remote.predict(photo)]


def test_failed_push_keeps_the_checkpoint_and_says_how_to_retry(hub, fer_csv, tmp_path, capsys):
    run = tmp_path / "run"
    train(tiny_config(fer_csv, run, epochs=1))
    before = (run / "best" / "model.safetensors").read_bytes()
    hub.fail_next(20, status=500)
    try:
        assert push_run(run, "tester/failing") == 1
    finally:
        hub.state.failures.clear()
    err = capsys.readouterr().err
    assert "retry with" in err and f"python -m training.push {run} tester/failing" in err
    assert (run / "best" / "model.safetensors").read_bytes() == before


def test_shipped_configs_parse_and_build():
    from fer_space.models import create_model

    for path in sorted((ROOT / "training" / "configs").glob("*.yaml")):
        cfg = TrainConfig.from_yaml(path)
        assert create_model(cfg.model, **cfg.model_args).num_classes == 7, path.name


def test_full_disk_fails_before_training(fer_csv, tmp_path, monkeypatch):
    import shutil

    from training import train as train_module

    free = shutil.disk_usage(tmp_path).free
    monkeypatch.setattr(train_module, "MIN_FREE_BYTES", free + 2**40)  # "need" more than there is
    with pytest.raises(SystemExit, match="MiB free"):
        train(tiny_config(fer_csv, tmp_path / "run"))
    assert not (tmp_path / "run" / "last.pt").exists()


def test_embed_remeasures_single_pass_and_writes_a_card(fer_csv, tmp_path):
    from training.embed import embed

    run = tmp_path / "run"
    train(tiny_config(fer_csv, run, epochs=1, tta_flip=True))
    target = tmp_path / "weights"
    embed(run, target=target, data=str(fer_csv))
    metrics = json.loads((target / "metrics.json").read_text())
    assert metrics["tta_flip"] is False and metrics["split"] == "PublicTest" and metrics["n"] == 21
    assert "accuracy_with_flip_tta" in metrics
    assert {"model.safetensors", "config.json", "README.md", "confusion.png"} <= {p.name for p in target.iterdir()}
    assert Predictor.from_pretrained(str(target), device="cpu").source.metrics["accuracy"] == metrics["accuracy"]
    embed(run, target=target, data=str(fer_csv))  # measured again: the flip-averaged figures stay
    again = json.loads((target / "metrics.json").read_text())
    assert again["accuracy_with_flip_tta"] == metrics["accuracy_with_flip_tta"] and again["tta_flip"] is False


def test_embed_int8_ships_a_quarter_of_the_bytes_measured_as_rounded(fer_csv, tmp_path):
    import safetensors.torch

    from training.data import load_faces
    from training.embed import embed
    from training.evaluate import evaluate_arrays

    run = tmp_path / "run"
    train(tiny_config(fer_csv, run, epochs=1, model_args={"widths": [16, 32, 64, 64]}))
    target = tmp_path / "int8"
    embed(run, target=target, data=str(fer_csv), int8=True)
    shipped = safetensors.torch.load_file(target / "model.safetensors")
    assert any(k.endswith(".int8_scale") for k in shipped) and shipped["features.0.0.conv.weight"].dtype == torch.int8
    assert (target / "model.safetensors").stat().st_size < 0.4 * (run / "best" / "model.safetensors").stat().st_size
    model = Predictor.from_pretrained(str(target), device="cpu").model
    faces = load_faces(fer_csv).split("PublicTest")
    assert json.loads((target / "metrics.json").read_text())["accuracy"] == evaluate_arrays(model, faces)["accuracy"]
    stored = json.loads((target / "config.json").read_text())["calibration"]
    assert model.calibration.temperature == stored["temperature"]
    ranges = json.loads((target / "config.json").read_text())["int8"]  # and the int8 ranges, measured
    assert model.int8 == ranges and len(ranges["ranges"]) > 5
    assert json.loads((target / "metrics.json").read_text())["int8"]["n"] == 21
    assert Predictor.from_pretrained(str(target), device="cpu").backend == "onnxruntime-int8"


def test_training_on_ferplus_soft_labels(fer_csv, tmp_path):
    votes = make_ferplus_csv(tmp_path / "fer2013new.csv")
    result = train(tiny_config(fer_csv, tmp_path / "run", epochs=1, ferplus_votes=str(votes)))
    assert result["epochs_run"] == 1 and 0 <= result["best"] <= 1


def test_branch_ablation_agrees_with_evaluation_and_ablates_the_right_branch(fer_csv):
    from training.ablate import ablate, branch_features
    from training.evaluate import evaluate_arrays, predict_probs

    faces = load_faces(fer_csv).split("Training")
    torch.manual_seed(0)
    model = create_model("swin_se_resnet_nano").eval()
    assert ablate(model, faces.images, faces.labels)["both_branches"] == round(
        evaluate_arrays(model, faces)["accuracy"], 4)
    swin_dim = model.num_features - model.resnet.num_features  # the head reads [f_swin, f_res]
    for blind, seen in ((slice(0, swin_dim), "resnet"), (slice(swin_dim, None), "swin")):
        with torch.no_grad():  # a head that reads one branch only, and only what varies across faces
            model.head[-1].weight.normal_()
            model.head[-1].weight[:, blind] = 0
            mean_features = torch.cat(branch_features(model, faces.images), 1).mean(0)
            model.head[-1].bias.copy_(-model.head[-1].weight @ mean_features)
        own = np.array([EMOTIONS.index(model.labels[i]) for i in predict_probs(model, faces.images).argmax(1)])
        assert len(set(own)) > 1
        result = ablate(model, faces.images, own)  # labelled with its own predictions: 1.0 = unchanged
        other = "swin" if seen == "resnet" else "resnet"
        assert result["both_branches"] == 1.0 and result[f"{other}_mean_ablated"] == 1.0
        assert result[f"{seen}_mean_ablated"] < 1.0


def test_ensemble_of_runs_is_measured_and_ships_like_a_run(fer_csv, tmp_path):
    from training.build_ensemble import main as ensemble_main
    from training.embed import embed
    from training.evaluate import evaluate_arrays

    runs = [tmp_path / "a", tmp_path / "b"]
    for seed, run in enumerate(runs):
        train(tiny_config(fer_csv, run, epochs=1, seed=seed), command=f"python -m training.train --seed {seed}")
    out = tmp_path / "ensemble"
    assert ensemble_main([*map(str, runs), "--flip", "--output", str(out)]) == 0
    metrics = json.loads((out / "best" / "metrics.json").read_text())
    faces = load_faces(fer_csv).split("PublicTest")
    ensemble = Predictor.from_pretrained(str(out / "best"), device="cpu").model
    assert ensemble.flip and metrics["accuracy"] == evaluate_arrays(ensemble, faces)["accuracy"]
    for run, member in zip(runs, metrics["members"], strict=True):
        alone = Predictor.from_pretrained(str(run / "best"), device="cpu").model
        assert member["accuracy"] == evaluate_arrays(alone, faces)["accuracy"] and member["run"] == str(run)
    assert (out / "command.txt").read_text().count("python -m training.") == 3  # two trainings + the ensemble
    target = tmp_path / "weights"
    embed(out, target=target, data=str(fer_csv))
    card = (target / "README.md").read_text()
    assert "an ensemble of 2 trained models" in card and f"`{runs[1]}`" in card
    assert json.loads((target / "metrics.json").read_text())["members"] == metrics["members"]

    single = tmp_path / "single"  # shipped alone, as embedded:NAME
    embed(runs[0], target=single)
    grown = tmp_path / "grown"  # shipped models' members come back, with their commands; stored in float16
    assert ensemble_main([str(target), str(single), "--flip", "--fp16", "--output", str(grown)]) == 0
    grown_metrics = json.loads((grown / "best" / "metrics.json").read_text())
    assert grown_metrics["members"] == [*metrics["members"], metrics["members"][0]]
    commands = (grown / "command.txt").read_text().splitlines()
    assert commands[:3] == ["python -m training.train --seed 0", "python -m training.train --seed 1",
                            "python -m training.train --seed 0"]
    curves = json.loads((grown / "config.json").read_text())["histories"]
    assert curves[:2] == [[json.loads((run / "metrics.jsonl").read_text())] for run in runs]  # kept for curves.png
    assert (grown / "curves.png").is_file() and '"histories"' not in card
    with safe_open(grown / "best" / "model.safetensors", "pt") as weights:
        assert {weights.get_slice(key).get_dtype() for key in weights.keys()} == {"F16", "I64"}  # I64: BN counts
    grown_model = Predictor.from_pretrained(str(grown / "best"), device="cpu").model
    assert len(grown_model.members) == 3 and next(grown_model.parameters()).dtype == torch.float32
    assert grown_metrics["accuracy"] == evaluate_arrays(grown_model, faces)["accuracy"]  # measured as it loads
    assert ensemble_main([str(tmp_path), "--output", str(tmp_path / "bad")]) == 2  # neither run nor model

    small = tmp_path / "int8"  # conv/linear weights in int8, a scale per output channel
    assert ensemble_main([str(target), "--flip", "--int8", "--output", str(small)]) == 0
    with safe_open(small / "best" / "model.safetensors", "pt") as weights:
        dtypes = {key: weights.get_slice(key).get_dtype() for key in weights.keys()}
    assert {dtypes[k] for k in dtypes if k.endswith(".weight") and k + ".int8_scale" in dtypes} == {"I8"}
    size = (small / "best" / "model.safetensors").stat().st_size  # against the same two in float32
    assert size < 0.4 * (out / "best" / "model.safetensors").stat().st_size
    small_model = Predictor.from_pretrained(str(small / "best"), device="cpu").model
    assert json.loads((small / "best" / "metrics.json").read_text())["accuracy"] == evaluate_arrays(
        small_model, faces)["accuracy"]
    for (key, a), b in zip(ensemble.state_dict().items(), small_model.state_dict().values(), strict=True):
        if key + ".int8_scale" in dtypes:  # rounded to within half a step of its channel's scale
            step = a.abs().amax(dim=tuple(range(1, a.ndim)), keepdim=True) / 127
            assert ((a - b).abs() <= step / 2 + 1e-6).all() and not torch.equal(a, b), key
        else:
            assert torch.equal(a.half().float(), b.half().float()), key

    one = tmp_path / "one"  # one member of a shipped ensemble, reading the mirror too: a fast model
    assert ensemble_main([str(target), "--members", "1", "--flip", "--output", str(one)]) == 0
    one_metrics = json.loads((one / "best" / "metrics.json").read_text())
    assert one_metrics["members"] == metrics["members"][1:]
    one_model = Predictor.from_pretrained(str(one / "best"), device="cpu").model
    assert len(one_model.members) == 1 and one_model.flip
    assert one_model.description == "compact CNN reading the face and its mirror"
    assert ensemble_main([str(target), "--members", "2", "--output", str(tmp_path / "bad")]) == 2

    train(tiny_config(fer_csv, tmp_path / "c", epochs=1, val_split="Training"))
    assert ensemble_main([str(runs[0]), str(tmp_path / "c"), "--output", str(tmp_path / "bad")]) == 2


def test_distillation_targets_mix_the_teachers_mirrored_probabilities_and_are_cached(fer_csv, tmp_path):
    from training.distill import distillation_targets
    from training.evaluate import predict_probs

    teacher_run = tmp_path / "teacher"
    train(tiny_config(fer_csv, teacher_run, epochs=1))
    teacher = str(teacher_run / "best")
    faces = load_faces(fer_csv).split("Training")
    cache = tmp_path / "teacher_probs.npz"
    targets = distillation_targets(teacher, faces, faces.labels, 0.75, cache)
    model = Predictor.from_pretrained(teacher, device="cpu").model
    probs = predict_probs(model, faces.images, tta_flip=True)[:, [model.labels.index(n) for n in EMOTIONS]]
    assert np.allclose(targets, 0.75 * probs + 0.25 * np.eye(7)[faces.labels], atol=1e-6)
    assert np.allclose(targets.sum(1), 1, atol=1e-5)

    moved = tmp_path / "moved"
    (teacher_run / "best").rename(moved)  # the cache answers for the same teacher and faces...
    assert np.array_equal(distillation_targets(teacher, faces, faces.labels, 0.75, cache), targets)
    with pytest.raises(ModelLoadError):  # ...and only for them
        distillation_targets(teacher, faces.select(np.arange(10)), faces.labels[:10], 0.75, cache)
    with pytest.raises(ValueError, match="teacher_weight"):
        distillation_targets(str(moved), faces, faces.labels, 0.0, cache)

    student = tmp_path / "student"
    result = train(tiny_config(fer_csv, student, epochs=1, teacher=str(moved), teacher_weight=0.5))
    assert result["epochs_run"] == 1 and (student / "teacher_probs.npz").is_file()
    assert json.loads((student / "config.json").read_text())["teacher"] == str(moved)

    from training.train import main as train_main

    yaml = tmp_path / "cfg.yaml"
    yaml.write_text(json.dumps({k: v for k, v in tiny_config(fer_csv, tmp_path / "orphan").to_dict().items()
                                if k != "augment"}))
    # a teacher that is not there: a clear error before any training
    assert train_main(["--config", str(yaml), "--teacher", teacher]) == 2
    assert not (tmp_path / "orphan" / "last.pt").exists()


def test_a_hybrid_starts_from_its_branches_trained_alone(fer_csv, tmp_path):
    from training.train import build_model

    runs = {}
    for branch, preset in (("resnet", "resnet_nano"), ("swin", "swin_nano")):
        runs[branch] = tmp_path / branch
        train(tiny_config(fer_csv, runs[branch], model=preset, model_args={}, epochs=1))
    cfg = tiny_config(fer_csv, tmp_path / "hybrid", model="swin_se_resnet_nano", model_args={},
                      init_branches={branch: str(run / "best") for branch, run in runs.items()})
    hybrid = build_model(cfg)
    for branch, run in runs.items():
        donor = getattr(load_model(run / "best"), branch).state_dict()
        for key, value in getattr(hybrid, branch).state_dict().items():
            assert torch.equal(value, donor[key]), (branch, key)
    fresh = build_model(replace(cfg, init_branches={}))
    assert not torch.equal(fresh.resnet.conv1.weight, hybrid.resnet.conv1.weight)
    with pytest.raises(SystemExit, match="'vit' branch"):
        build_model(replace(cfg, init_branches={"vit": str(runs["resnet"] / "best")}))
    with pytest.raises(SystemExit, match="does not fit"):  # the nano Swin into the small hybrid
        build_model(replace(cfg, model="swin_se_resnet_small", init_branches={"swin": str(runs["swin"] / "best")}))
    with pytest.raises(SystemExit, match="is not a model folder"):  # a moved or mistyped folder: one line
        build_model(replace(cfg, init_branches={"swin": str(tmp_path / "nowhere")}))

    train(replace(cfg, epochs=1))  # a resumed run takes its weights from its checkpoint, not the branches'
    for run in runs.values():
        shutil.rmtree(run)
    assert train(cfg, resume=True, epochs=2)["epochs_run"] == 2


def test_init_branch_on_the_command_line_replaces_the_config_s_branch(tmp_path):
    from training.train import parse_args

    config = tmp_path / "hybrid.yaml"
    shipped = Path("training/configs/swin_se_resnet_small_from_branches_cpu.yaml").read_text()
    config.write_text(shipped + "init_branches:\n  resnet: runs/resnet_small_fer2013/best\n")
    cfg, _ = parse_args(["--config", str(config), "--init-branch", "resnet=runs/other/best", "--init-branch", "swin=s"])
    assert cfg.init_branches == {"resnet": "runs/other/best", "swin": "s"}
    assert parse_args(["--config", str(config)])[0].init_branches == {"resnet": "runs/resnet_small_fer2013/best"}
    with pytest.raises(SystemExit):
        parse_args(["--config", str(config), "--init-branch", "resnet"])


def test_set_overrides_any_field_and_refuses_unknown_ones(tmp_path):
    from training.train import parse_args

    config = "training/configs/swin_small_fer2013_cpu.yaml"
    cfg, _ = parse_args(["--config", config, "--set", "augment.rotation=15", "--set", "augment.scale=[0.85, 1.15]",
                         "--set", "teacher_online=true", "--set", "ferplus_weight=0.5", "--lr", "0.002"])
    assert cfg.augment.rotation == 15 and list(cfg.augment.scale) == [0.85, 1.15] and cfg.augment.hflip == 0.5
    assert cfg.teacher_online is True and cfg.ferplus_weight == 0.5 and cfg.lr == 0.002
    for bad in ("no_such_field=1", "augment.no_such_part=1", "lr.x=1", "lr"):
        with pytest.raises(SystemExit):
            parse_args(["--config", config, "--set", bad])


def test_ferplus_share_mixes_votes_and_labels(fer_csv, tmp_path):
    from training.train import load_data

    votes = make_ferplus_csv(tmp_path / "fer2013new.csv")
    cfg = tiny_config(fer_csv, tmp_path / "run", ferplus_votes=str(votes), ferplus_weight=0.25)
    train_faces, targets, _ = load_data(cfg, create_model(cfg.model, **cfg.model_args))
    soft = ferplus_soft_labels(train_faces, votes)
    one_hot = np.eye(len(EMOTIONS), dtype=np.float32)[train_faces.labels]
    assert np.allclose(targets, 0.25 * soft + 0.75 * one_hot) and np.allclose(targets.sum(1), 1)
    assert not np.allclose(soft, one_hot)  # the votes (8 happy, 2 neutral) differ from most labels


def test_an_online_teacher_reads_the_augmented_batch(fer_csv, tmp_path):
    from training.distill import OnlineTeacher

    teacher_dir = tmp_path / "teacher"
    torch.manual_seed(0)
    create_model("compact_cnn").save_pretrained(teacher_dir)
    teacher = OnlineTeacher(str(teacher_dir), create_model("compact_cnn"))
    images = torch.randn(4, 1, 48, 48)
    labels = torch.tensor([0, 3, 4, 6])
    targets = teacher.targets(images, labels, 0.7)
    probs = teacher.model(images).softmax(1)
    assert torch.allclose(targets, 0.7 * probs + 0.3 * torch.nn.functional.one_hot(labels, 7).float(), atol=1e-6)
    assert not torch.allclose(teacher.targets(images.flip(3), labels, 0.7), targets)  # it reads the view it gets
    with pytest.raises(ValueError, match="img_size"):
        OnlineTeacher(str(teacher_dir), create_model("swin_se_resnet"))
    result = train(tiny_config(fer_csv, tmp_path / "run", teacher=str(teacher_dir), teacher_online=True, epochs=1))
    assert result["epochs_run"] == 1 and not (tmp_path / "run" / "teacher_probs.npz").exists()


def test_augmentation_ramps_from_the_mirror_alone_to_full_strength():
    from training.transforms import AugmentConfig

    full = AugmentConfig()
    none, half = full.scaled(0.0), full.scaled(0.5)
    assert none.hflip == full.hflip and none.rotation == 0 and tuple(none.scale) == (1.0, 1.0) and none.erasing == 0
    assert half.rotation == full.rotation / 2 and tuple(half.scale) == pytest.approx((0.95, 1.05))
    assert full.scaled(1.0) == full
