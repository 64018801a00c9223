"""One training step on this CPU, fp32 against bf16 autocast: ``python -m bench.train_step [--json]``.

Times forward + backward + AdamW step of a compact CNN on a random batch of 64 grey 48 px faces
(median of 10 steps after 3 warm-up steps), with each ``precision`` the trainer accepts on CPU. bf16 pays
only on CPUs with native bf16 instructions (AVX-512 bf16 or AMX, see the ``cpu bf16`` line); elsewhere it
is many times slower. Pause any training run while this measures.
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    report = {"threads": args.threads, "cpu_bf16": cpu_has_bf16(),
              "ms_per_step": {name: {prec: round(step_ms(widths, prec), 1) for prec in ("fp32", "bf16")}
                              for name, widths in WIDTHS.items()}}
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"cpu bf16: {report['cpu_bf16']}; {args.threads} threads; batch 64, ms per step (median of 10)")
    for name, row in report["ms_per_step"].items():
        print(f"  {name:13s} fp32 {row['fp32']:7.1f}  bf16 {row['bf16']:7.1f}  ({row['fp32'] / row['bf16']:.2f}x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
