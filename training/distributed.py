"""Data-parallel training with PyTorch's own engine: ``torchrun --nproc_per_node N -m training.train ...``.

Under torchrun (``WORLD_SIZE`` > 1) each process joins one process group (NCCL on GPUs, gloo on
CPU), trains on its share of every global batch through ``DistributedDataParallel`` and reduces its
metrics with the others; only rank 0 writes checkpoints, ``best/``, curves and pushes. The order of
the faces is the single-process order: each global batch is exactly the batch one process would
have drawn for that (seed, epoch), split between the ranks, so N processes with ``batch_size / N``
faces each take the same steps as one process with ``batch_size`` (BatchNorm aside on CPU, where
statistics stay per rank; on GPUs it is converted to ``SyncBatchNorm``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Sampler

from fer_space.labels import EMOTIONS
from fer_space.models import FERClassifier

from .data import FaceArrays
from .evaluate import canonical_probs
from .metrics import confusion_matrix, metrics_from_confusion


@dataclass(frozen=True)
class Ranks:
    """This process's place among the training processes (rank 0 of 1 without torchrun)."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def sum(self, *values: float) -> list[float]:
        """The sums of ``values`` over all ranks (the values themselves in one process)."""
        if not self.distributed:
            return list(values)
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()


def join() -> Ranks:
    """Join torchrun's process group when launched by it (NCCL on GPUs, else gloo)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Ranks()
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        if torch.cuda.is_available():
            torch.cuda.set_device(local_rank)
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return Ranks(dist.get_rank(), dist.get_world_size(), local_rank)


def leave(ranks: Ranks) -> None:
    if ranks.distributed and dist.is_initialized():
        dist.destroy_process_group()


class ShardedBatches(Sampler[list[int]]):
    """This rank's share of each global batch, in the order one process draws them: the batches
    of a shuffled ``DataLoader`` over the indices with the generator seeded as the single-process
    loop seeds its own, each split into ``world`` equal, contiguous parts."""

    def __init__(self, n: int, global_batch: int, ranks: Ranks, seed: int) -> None:
        if global_batch % ranks.world:
            raise ValueError(f"batch_size {global_batch} does not split into {ranks.world} processes")
        self.n, self.global_batch, self.ranks, self.seed = n, global_batch, ranks, seed
        self.local = global_batch // ranks.world
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n // self.global_batch

    def __iter__(self) -> Iterator[list[int]]:
        generator = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = DataLoader(range(self.n), batch_size=self.global_batch, shuffle=True, generator=generator,
                           drop_last=True)
        start = self.ranks.rank * self.local
        for batch in order:
            yield batch[start : start + self.local].tolist()


def sharded_metrics(model: FERClassifier, faces: FaceArrays, ranks: Ranks, *, device: torch.device,
                    tta_flip: bool) -> dict:
    """Validation metrics from every rank's share of ``faces``, reduced into one confusion matrix."""
    share = faces.select(np.arange(ranks.rank, len(faces), ranks.world))
    predicted = (canonical_probs(model, share.images, device=device, tta_flip=tta_flip).argmax(1) if len(share)
                 else np.zeros(0, dtype=int))
    counts = torch.as_tensor(confusion_matrix(share.labels, predicted, len(EMOTIONS)))
    if ranks.distributed:
        dist.all_reduce(counts)
    cm = counts.numpy()
    return {**metrics_from_confusion(cm, EMOTIONS), "confusion_matrix": cm.tolist()}
