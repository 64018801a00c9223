"""Training throughput on this machine: ``python -m bench.train_step [--json]``.

1. One training step: forward + backward + AdamW of a compact CNN on a random batch of 64 grey 48 px
   faces (median of 10 steps after 3 warm-up steps), fp32 against bf16 autocast, in ms and images/s.
   bf16 pays only on CPUs with native bf16 instructions (AVX-512 bf16 or AMX, see the ``cpu bf16``
   line); elsewhere it is many times slower.
2. The data loader alone (the training augmentation, batching; no model) at 48 px grey and 224 px
   RGB with 0 and 2 workers, in images/s: on a GPU machine the loader must make at least as many
   images a second as the steps consume, which says how many ``workers`` a run needs.
Pause any training run while this measures.
"""

from __future__ import annotations

import argparse
import json

import torch
from torch import nn

from fer_space.models import create_model
from training.train import autocast_dtype, cpu_has_bf16

from .pipeline import pct, timed

WIDTHS = {"compact_512": [32, 64, 128, 512], "compact_wide": [64, 128, 256, 512]}


def step_ms(widths: list[int], precision: str, batch: int = 64) -> float:
    """Median ms of one training step of a compact CNN with these stage widths."""
    torch.manual_seed(0)
    model = create_model("compact_cnn", widths=widths).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, y = torch.randn(batch, 1, 48, 48), torch.randint(0, 7, (batch,))
    dtype = autocast_dtype(precision, torch.device("cpu"))

    def step() -> None:
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = nn.functional.cross_entropy(model(x).float(), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return pct(timed(step, 10, warmup=3), 50)


def loader_images_per_s(size: int, grey: bool, workers: int, batches: int = 20) -> float:
    """Images a second the training data loader makes (augmentation + batching) for random faces."""
    import time

    from torch.utils.data import DataLoader

    from training.data import FaceDataset
    from training.transforms import AugmentConfig, train_transform

    model = create_model("compact_cnn") if grey else create_model("resnet_nano", img_size=size, in_chans=3,
                                                                  mean=(0.5,) * 3, std=(0.25,) * 3)
    n = 64 * batches
    shape = (n, size, size) if grey else (n, size, size, 3)
    images = torch.randint(0, 256, shape, dtype=torch.uint8).numpy()
    dataset = FaceDataset(images, torch.zeros(n, dtype=torch.long).numpy(), train_transform(model, AugmentConfig()))
    loader = DataLoader(dataset, batch_size=64, shuffle=True, num_workers=workers)
    start = time.perf_counter()
    for _ in loader:
        pass
    return n / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    report = {"threads": args.threads, "cpu_bf16": cpu_has_bf16(),
              "ms_per_step": {name: {prec: round(step_ms(widths, prec), 1) for prec in ("fp32", "bf16")}
                              for name, widths in WIDTHS.items()},
              "loader_images_per_s": {f"{size}px_{'grey' if grey else 'rgb'}_workers{workers}":
                                      round(loader_images_per_s(size, grey, workers))
                                      for size, grey in ((48, True), (224, False)) for workers in (0, 2)}}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"cpu bf16: {report['cpu_bf16']}; {args.threads} threads; batch 64, ms per step (median of 10)")
    for name, row in report["ms_per_step"].items():
        print(f"  {name:13s} fp32 {row['fp32']:7.1f} ms ({64e3 / row['fp32']:5.0f} img/s)  bf16 {row['bf16']:7.1f} ms "
              f"({64e3 / row['bf16']:5.0f} img/s)  ({row['fp32'] / row['bf16']:.2f}x)")
    print("data loader alone (augmentation + batching), images/s:")
    for name, rate in report["loader_images_per_s"].items():
        print(f"  {name:24s} {rate:6d}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
