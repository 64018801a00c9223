#!/usr/bin/env bash
# Issue 4 item 5 on one lent H200 (15 minutes of device time in all, 10 a command): the seed's
# Swin-SE-ResNet and its SwinT / ResNet50 baselines on FER2013, from scratch at 224 px, trained side
# by side on the one GPU (each with 5 data workers), each cut by `timeout` (best/ is kept whole).
#
# Prepare here (the trip must stay under 64 MiB, so the shipped weights stay behind):
#   python -m training.data.pack ../shared/data/fer2013/fer2013.csv.gz --output .carry/fer2013   # 51 MiB
#   pip download -q --no-deps facenet-pytorch==2.5.3 -d .carry/whl
#   printf '/.carry/\n/fer_space/embedded/fer_ensemble/\n/fer_space/embedded/\n/examples/\n' >> .git/info/exclude
#   git rm -r -q --cached fer_space/embedded/fer_ensemble fer_space/embedded examples
# Run with the device tool: command "bash training/device_fer2013.sh", carry [".carry"], timeout_s 540.
# Then here: git reset -q, and drop the last three lines of .git/info/exclude.
# Back in $OUT: results.json (each run's best PublicTest metrics and history) and runs.tar.part-*
# (join with cat: logs, curves, and the fp16 best/ of the most accurate run that fits in 50 MiB).
# A dry run here: OUT=/tmp/out DATA=<small packed folder> EXTRA="--limit 64 --epochs 1 --device cpu" bash ...
set -u
export PYTHONUNBUFFERED=1 BUDGET=${BUDGET:-420}
mkdir -p /tmp/logs
if [ -d .carry/whl ]; then
  python3 -m pip install -q --no-index --no-deps --target /tmp/site .carry/whl/*.whl && export PYTHONPATH=/tmp/site
fi
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
for model in swin_se_resnet swin_t resnet50; do
  timeout "$BUDGET" python3 -m training.train --config training/configs/swin_se_resnet_fer2013_device.yaml \
    --model "$model" --output "runs/device/$model" --data "${DATA:-.carry/fer2013}" ${EXTRA:-} \
    > "/tmp/logs/$model.log" 2>&1 &
done
wait
python3 - <<'PY'
import json, os, subprocess, tarfile
from pathlib import Path

from safetensors.torch import load_file, save_file

out, runs, results = Path(os.environ["OUT"]), Path("runs/device"), {}
for run in sorted(p for p in runs.glob("*") if (p / "best" / "metrics.json").is_file()):
    history = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    results[run.name] = {"best": json.loads((run / "best" / "metrics.json").read_text()), "history": history}
(out / "results.json").write_text(json.dumps(results, indent=2))
ranked = sorted(results, key=lambda name: -results[name]["best"]["accuracy"])
for name in ranked:
    r = results[name]
    print(f"{name}: PublicTest accuracy {r['best']['accuracy']:.4f} (flip TTA) at epoch {r['best']['epoch']}, "
          f"{len(r['history'])} epochs, {sum(h['seconds'] for h in r['history']):.0f} s of epochs")
with tarfile.open("/tmp/runs.tar", "w") as tar:
    tar.add("/tmp/logs", "logs")
    for name in results:
        tar.add(runs / name / "curves.png", f"{name}/curves.png")
    for name in ranked:  # the most accurate run whose fp16 weights fit
        best = runs / name / "best"
        tensors = {k: v.half() for k, v in load_file(best / "model.safetensors").items()}
        if sum(t.numel() * 2 for t in tensors.values()) > 50 * 2**20:
            continue
        save_file(tensors, "/tmp/model.safetensors")
        tar.add("/tmp/model.safetensors", f"{name}/best/model.safetensors")
        for f in ("config.json", "metrics.json"):
            tar.add(best / f, f"{name}/best/{f}")
        print(f"weights of {name} (fp16) are in runs.tar")
        break
subprocess.run(["split", "-b", "15M", "-d", "/tmp/runs.tar", str(out / "runs.tar.part-")], check=True)
PY
