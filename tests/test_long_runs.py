"""training/long_runs.py: a run packed into the repository resumes on a machine that has nothing else."""

import shutil

import torch

from training.long_runs import RUNS, main, pack, table, unpack
from training.train import train

from .test_training import fer_csv, tiny_config  # noqa: F401 (fixture)


def test_a_packed_run_resumes_where_it_stopped_on_an_empty_machine(fer_csv, tmp_path):  # noqa: F811
    runs, packed = tmp_path / "runs", tmp_path / "packed"
    cfg = tiny_config(fer_csv, runs / "r", epochs=2, model="resnet_nano", model_args={})
    train(cfg)
    pack(["r"], runs, packed)
    full = torch.load(runs / "r" / "last.pt", weights_only=True)
    small = torch.load(packed / "r" / "last.pt", weights_only=True)
    assert (packed / "r" / "last.pt").stat().st_size < 0.6 * (runs / "r" / "last.pt").stat().st_size
    for key, value in full["model"].items():
        if value.is_floating_point() and value.ndim:
            assert small["model"][key].dtype == torch.bfloat16
            assert torch.allclose(small["model"][key].float(), value, rtol=2**-8, atol=0), key
        else:
            assert torch.equal(small["model"][key], value), key
    steps = [s["step"] for s in small["optimizer"]["state"].values()]
    assert all(s.dtype == torch.float32 and s.item() == steps[0].item() for s in steps)  # counts stay exact
    assert (packed / "r" / "best" / "model.safetensors").is_file()
    assert (packed / "r" / "metrics.jsonl").read_text() == (runs / "r" / "metrics.jsonl").read_text()

    shutil.rmtree(runs)  # a new machine: only the repository is there
    assert unpack("r", runs, packed) and not unpack("r", runs, packed)  # never over a live checkpoint
    result = train(cfg, resume=True, epochs=3)
    assert result["epochs_run"] == 3
    resumed = torch.load(runs / "r" / "last.pt", weights_only=True)
    assert resumed["epoch"] == 2 and resumed["model"]["head.1.weight"].dtype == torch.float32
    assert not unpack("nothing", runs, packed)


def test_the_table_names_every_run_and_how_to_resume_it(capsys):
    assert set(RUNS) == {"resnet_small_long", "swin_small_long", "swin_se_resnet_small_long",
                         "resnet_small_long_control"}
    main(["table"])
    printed = capsys.readouterr().out
    for name in RUNS:
        assert f"`python -m training.long_runs resume {name}`" in printed
    assert table(["swin_small_long"]).count("\n") == 2
