"""Train a fer_space model: ``python -m training.train --config training/configs/X.yaml``.

One loop for every model and data set: warm-up + cosine learning rate, label smoothing, optional
class weights / balanced sampling / FER+ soft labels / a teacher's probabilities (knowledge
distillation, ``training.distill``), mixed precision on GPU, early stopping on a validation metric.
One process by default; ``torchrun --nproc_per_node N -m training.train ...`` trains data-parallel
(``training.distributed``), the global batch staying ``batch_size``.
Each epoch writes ``last.pt`` atomically (resume with ``--resume``; a killed run loses at most the
epoch in progress) and, when the monitored metric improves, the model folder ``best/``
(safetensors + config.json + metrics.json). The random state of an epoch is derived
from (seed, epoch), so a resumed run repeats the uninterrupted one exactly.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import yaml
from timm.layers import convert_sync_batchnorm
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, WeightedRandomSampler
from tqdm import tqdm

from fer_space.errors import ModelLoadError
from fer_space.models import FERClassifier, create_model, load_model
from fer_space.predictor import pick_device

from .checkpoint import load_state, save_model_dir, save_state
from .config import TrainConfig
from .data import FaceArrays, FaceDataset, ferplus_soft_labels, limit_faces, load_faces
from .data.leakage import drop_leaks
from .distill import OnlineTeacher, distillation_targets, one_hot
from .distributed import Ranks, ShardedBatches, join, leave, sharded_metrics
from .plots import plot_curves
from .transforms import train_transform

MIN_FREE_BYTES = 200 * 2**20


def cpu_has_bf16() -> bool:
    """Whether this CPU has native bf16 arithmetic (AVX-512 bf16 or AMX; Linux ``/proc/cpuinfo``)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """``None`` means fp32. ``auto``: bf16 on a CUDA GPU that supports it and on a CPU with native bf16
    (about 2x faster per step there, ``python -m bench.train_step``; on other CPUs it is many times slower)."""
    if precision == "auto":
        native = torch.cuda.is_bf16_supported() if device.type == "cuda" else device.type == "cpu" and cpu_has_bf16()
        return torch.bfloat16 if native else None
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def check_output_dir(out: Path) -> None:
    """Fail before training when the output folder cannot be written or the disk is full."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_bytes(b"x")
        probe.unlink()
    except OSError as exc:
        raise SystemExit(f"error: cannot write to output folder {out}: {exc}") from exc
    free = shutil.disk_usage(out).free
    if free < MIN_FREE_BYTES:
        raise SystemExit(f"error: only {free / 2**20:.0f} MiB free under {out}; need {MIN_FREE_BYTES / 2**20:.0f} MiB")


def lr_lambda(cfg: TrainConfig, steps_per_epoch: int):
    warmup = max(1, int(cfg.warmup_epochs * steps_per_epoch))
    total = max(warmup + 1, cfg.epochs * steps_per_epoch)

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / (total - warmup))))

    return factor


def build_model(cfg: TrainConfig, *, initialise: bool = True) -> FERClassifier:
    """The model of ``cfg``; with ``initialise``, its ImageNet backbones and ``init_branches`` loaded (a
    resumed run skips them: its checkpoint holds the weights, and their sources need not be there)."""
    model = create_model(cfg.model, **cfg.model_args)
    if not initialise:
        return model
    if cfg.pretrained_backbones:
        if not hasattr(model, "load_imagenet_backbones"):
            raise SystemExit(f"error: {cfg.model} has no ImageNet backbone to load")
        model.load_imagenet_backbones()
    for branch, folder in cfg.init_branches.items():
        init_branch(model, branch, folder)
    return model


def init_branch(model: FERClassifier, branch: str, folder: str) -> None:
    """Copy the trained ``branch`` (a submodule name: ``swin``, ``resnet``) of the model in ``folder``
    into ``model``'s branch of the same name and shape."""
    if not Path(folder, "config.json").is_file():
        raise SystemExit(f"error: init_branches: {folder} is not a model folder (config.json + model.safetensors)")
    target, donor = getattr(model, branch, None), getattr(load_model(folder), branch, None)
    if not isinstance(target, nn.Module) or not isinstance(donor, nn.Module):
        raise SystemExit(f"error: init_branches: both {type(model).__name__} and the model in {folder} need a "
                         f"{branch!r} branch")
    try:
        target.load_state_dict(donor.state_dict())
    except RuntimeError as exc:
        raise SystemExit(f"error: init_branches: {folder}'s {branch} branch does not fit: {exc}") from exc
    print(f"{branch} branch initialised from {folder}")


def load_data(
    cfg: TrainConfig, model: FERClassifier, device: torch.device | str = "cpu"
) -> tuple[FaceArrays, np.ndarray, FaceArrays]:
    """Training faces, their targets (indices, or FER+ / teacher soft labels) and validation faces.
    An online teacher's share is left out here: it is mixed in batch by batch."""
    faces = load_faces(cfg.data, cfg.data_format, size=max(48, model.img_size), grey=model.in_chans == 1,
                       label_map=cfg.label_map)
    if cfg.drop_leaks:
        faces, dropped = drop_leaks(faces, cfg.train_split)
        print(f"dropped {dropped} training faces identical to faces of other splits")
    train, val = faces.split(cfg.train_split), faces.split(cfg.val_split)
    if cfg.limit:
        train = limit_faces(train, cfg.limit, cfg.seed)
        val = limit_faces(val, max(200, cfg.limit // 5), cfg.seed)
    targets = train.labels
    if cfg.ferplus_votes:
        votes = ferplus_soft_labels(train, cfg.ferplus_votes)
        targets = cfg.ferplus_weight * votes + (1.0 - cfg.ferplus_weight) * one_hot(train.labels)
    if cfg.teacher and not cfg.teacher_online:
        targets = distillation_targets(cfg.teacher, train, targets, cfg.teacher_weight,
                                       Path(cfg.output) / "teacher_probs.npz", device)
    return train, targets, val


def make_loader(cfg: TrainConfig, model: FERClassifier, train: FaceArrays, targets: np.ndarray,
                device: torch.device, ranks: Ranks | None = None) -> DataLoader:
    """The training faces in batches: one process draws ``batch_size`` faces a step; under torchrun
    each rank draws its share of the same global batch (``ShardedBatches``)."""
    dataset = FaceDataset(train.images, targets, train_transform(model, cfg.augment))
    if ranks is not None and ranks.distributed:
        if cfg.balanced_sampler:
            raise SystemExit("error: balanced_sampler is not available with torchrun; use class_weighting")
        return DataLoader(dataset, batch_sampler=ShardedBatches(len(dataset), cfg.batch_size, ranks, cfg.seed),
                          num_workers=cfg.workers, persistent_workers=cfg.workers > 0,
                          pin_memory=device.type == "cuda")
    generator = torch.Generator()
    sampler = None
    if cfg.balanced_sampler:
        counts = train.class_counts(model.num_classes).clip(min=1)
        weights = torch.as_tensor(1.0 / counts[train.labels], dtype=torch.double)
        sampler = WeightedRandomSampler(weights, len(weights), generator=generator)
    return DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        shuffle=sampler is None,
        sampler=sampler,
        generator=generator,
        num_workers=cfg.workers,
        drop_last=len(dataset) > cfg.batch_size,
        persistent_workers=cfg.workers > 0,
        pin_memory=device.type == "cuda",
    )


def make_optimizer(cfg: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=cfg.lr)
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=cfg.lr, momentum=cfg.momentum, nesterov=True)
    raise ValueError(f"unknown optimizer {cfg.optimizer!r}")


def train(cfg: TrainConfig, resume: bool = False, command: str | None = None, epochs: int | None = None) -> dict:
    """Run (or resume) training; returns the best validation metrics. ``command`` (the command line
    of a fresh run, or of a resume that changes the length) is kept in ``OUTPUT/command.txt`` for the
    model card. A resumed run keeps the config it was started with; ``epochs`` gives it a new length
    (e.g. to extend a finished run)."""
    ranks = join()
    out = Path(cfg.output)
    if ranks.main:
        check_output_dir(out)
    ranks.barrier()
    last_path = out / "last.pt"
    state = load_state(last_path) if resume and last_path.exists() else None
    if resume and state is None:
        print(f"no checkpoint at {last_path}: starting from scratch", file=sys.stderr)
    if state is not None:
        cfg = TrainConfig.from_dict({**state["config"], "output": cfg.output, **({"epochs": epochs} if epochs else {})})
    if command and ranks.main and state is None:
        (out / "command.txt").write_text(command + "\n")
    elif command and ranks.main and cfg.epochs != state["config"]["epochs"]:  # a new length is part of the run
        with open(out / "command.txt", "a") as log:
            log.write(command + "\n")

    device = pick_device(cfg.device)
    if device.type == "cuda" and ranks.distributed:
        device = torch.device("cuda", ranks.local_rank)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    model = build_model(cfg, initialise=state is None)
    if not ranks.main:
        ranks.barrier()  # rank 0 reads the data first and fills the teacher's cache
    train_faces, targets, val_faces = load_data(cfg, model, device)
    if ranks.main:
        ranks.barrier()
    model.to(device, memory_format=torch.channels_last if cfg.channels_last else torch.preserve_format)
    loader = make_loader(cfg, model, train_faces, targets, device, ranks)
    optimizer = make_optimizer(cfg, model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_lambda(cfg, len(loader)))
    class_weight = None
    if cfg.class_weighting == "balanced":
        counts = torch.as_tensor(train_faces.class_counts(model.num_classes), dtype=torch.float).clamp(min=1)
        class_weight = (counts.sum() / (len(counts) * counts)).to(device)
    criterion = nn.CrossEntropyLoss(weight=class_weight, label_smoothing=cfg.label_smoothing)
    amp_dtype = autocast_dtype(cfg.precision, device)
    online_teacher = OnlineTeacher(cfg.teacher, model, device) if cfg.teacher and cfg.teacher_online else None
    scaler = torch.amp.GradScaler(enabled=amp_dtype == torch.float16)
    forward = model
    if ranks.distributed:
        if device.type == "cuda":
            forward = convert_sync_batchnorm(model)  # timm's keeps BatchNormAct layers whole
        forward = DistributedDataParallel(forward, device_ids=[device.index] if device.type == "cuda" else None)
    forward = torch.compile(forward) if cfg.compile else forward

    start_epoch, best, history, bad_epochs = 0, -1.0, [], 0
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, best = state["epoch"] + 1, state["best"]
        history, bad_epochs = state["history"], state["bad_epochs"]
        print(f"resumed from {last_path} at epoch {start_epoch} (best {cfg.monitor} {best:.4f})")

    if ranks.main:
        (out / "config.json").write_text(json.dumps(cfg.to_dict(), indent=2))
        print(f"{cfg.model}: {sum(p.numel() for p in model.parameters()) / 1e6:.2f} M params on {device}"
              + (f" x {ranks.world} processes" if ranks.distributed else "")
              + f"; {len(train_faces)} train / {len(val_faces)} val faces")
    for epoch in range(start_epoch, cfg.epochs):
        if bad_epochs >= cfg.patience:
            print(f"early stop: no {cfg.monitor} gain for {cfg.patience} epochs")
            break
        torch.manual_seed(cfg.seed * 100_003 + epoch + 7_919 * ranks.rank)  # augmentation and dropout
        if ranks.distributed:
            loader.batch_sampler.set_epoch(epoch)
        else:
            loader.generator.manual_seed(cfg.seed * 100_003 + epoch)
        if cfg.augment_ramp_epochs:
            strength = min(1.0, epoch / cfg.augment_ramp_epochs)
            loader.dataset.transform = train_transform(model, cfg.augment.scaled(strength))
        model.train()
        seen, correct, loss_sum, t0 = 0, 0, 0.0, time.perf_counter()
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{cfg.epochs}", unit="batch", dynamic_ncols=True,
                   disable=not ranks.main)
        for images, target in bar:
            images, target = images.to(device, non_blocking=True), target.to(device, non_blocking=True)
            if cfg.channels_last:
                images = images.contiguous(memory_format=torch.channels_last)
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                if online_teacher is not None:
                    target = online_teacher.targets(images, target, cfg.teacher_weight)
                logits = forward(images)
                loss = criterion(logits.float(), target)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if cfg.grad_clip:
                scaler.unscale_(optimizer)
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            hard = target.argmax(1) if target.ndim == 2 else target
            seen += len(target)
            correct += (logits.argmax(1) == hard).sum().item()
            loss_sum += loss.item() * len(target)
            rate = seen / (time.perf_counter() - t0)
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}", img_s=f"{rate:.0f}")
        seen, correct, loss_sum = ranks.sum(seen, correct, loss_sum)
        val = sharded_metrics(model, val_faces, ranks, device=device, tta_flip=cfg.tta_flip)
        record = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / seen,
            "train_accuracy": correct / seen,
            "lr": scheduler.get_last_lr()[0],
            "seconds": time.perf_counter() - t0,
            **{f"val_{k}": val[k] for k in ("accuracy", "f1_weighted", "f1_macro")},
        }
        history.append(record)
        improved = val[cfg.monitor] > best
        if improved:
            best, bad_epochs = val[cfg.monitor], 0
            summary = {"epoch": epoch + 1, "split": cfg.val_split, "data": cfg.data, "tta_flip": cfg.tta_flip, **val}
            if ranks.main:
                save_model_dir(model, out / "best", {"metrics.json": json.dumps(summary, indent=2)})
        else:
            bad_epochs += 1
        if not ranks.main:
            continue
        save_state(
            {
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "epoch": epoch,
                "best": best,
                "bad_epochs": bad_epochs,
                "history": history,
                "config": cfg.to_dict(),
            },
            last_path,
        )
        with open(out / "metrics.jsonl", "a") as log:
            log.write(json.dumps(record) + "\n")
        plot_curves(history, out / "curves.png")
        print(
            f"epoch {epoch + 1}: train acc {record['train_accuracy']:.4f} loss {record['train_loss']:.4f} | "
            f"val acc {val['accuracy']:.4f} f1w {val['f1_weighted']:.4f} f1m {val['f1_macro']:.4f}"
            + (" *" if improved else ""),
            flush=True,
        )
    ranks.barrier()  # the last checkpoint is written before any process returns
    return {"best": best, "monitor": cfg.monitor, "epochs_run": len(history)}


def parse_args(argv: list[str] | None = None) -> tuple[TrainConfig, argparse.Namespace]:
    p = argparse.ArgumentParser(prog="python -m training.train", description=__doc__.split("\n\n")[0])
    p.add_argument("--config", help="YAML file with TrainConfig fields (training/configs/)")
    p.add_argument("--data", help="fer2013.csv(.gz) or a folder data set")
    p.add_argument("--model", help="registry name, e.g. compact_cnn, swin_se_resnet")
    p.add_argument("--epochs", type=int, help="with --resume: a new length for the run (default: its own)")
    p.add_argument("--limit", type=int, help="train on this many faces only")
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--device")
    p.add_argument("--threads", type=int)
    p.add_argument("--teacher", help="model source to distil (a run's best/, a shipped model, a Hub repo)")
    p.add_argument("--output", help="run folder (checkpoints, logs, best/)")
    p.add_argument("--init-branch", action="append", default=[], metavar="BRANCH=FOLDER",
                   help="start BRANCH from the trained model in FOLDER (repeatable; over the config's init_branches)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="any config field, the value read as YAML (repeatable; augment.rotation=15 for a part)")
    p.add_argument("--resume", action="store_true", help="continue from OUTPUT/last.pt")
    p.add_argument("--push-to-hub", metavar="REPO_ID", help="push best/ to this Hub repo when done")
    p.add_argument("--private", action="store_true", help="create the Hub repo private")
    p.add_argument("--revision", help="Hub branch to push to")
    args = p.parse_args(argv)
    cfg = TrainConfig.from_yaml(args.config) if args.config else TrainConfig()
    overrides = {
        k: v
        for k, v in vars(args).items()
        if v is not None and k in {"data", "model", "epochs", "limit", "batch_size", "lr", "seed", "device", "threads",
                                   "teacher", "output"}
    }
    for item in args.init_branch:
        branch, sep, folder = item.partition("=")
        if not (sep and branch and folder):
            p.error(f"--init-branch takes BRANCH=FOLDER, got {item!r}")
        overrides["init_branches"] = {**overrides.get("init_branches", cfg.init_branches), branch: folder}
    cfg = replace(cfg, **overrides)
    if args.settings:
        raw = cfg.to_dict()
        for item in args.settings:
            key, sep, value = item.partition("=")
            if not (sep and key):
                p.error(f"--set takes KEY=VALUE, got {item!r}")
            *parents, leaf = key.split(".")
            node = raw
            for name in parents:
                if not isinstance(node.get(name), dict):
                    p.error(f"--set {key}: {name!r} is not a config section")
                node = node[name]
            node[leaf] = yaml.safe_load(value)
        try:
            cfg = TrainConfig.from_dict(raw)
        except (TypeError, ValueError) as exc:
            p.error(f"--set: {exc}")
    return cfg, args


def main(argv: list[str] | None = None) -> int:
    cfg, args = parse_args(argv)
    command = " ".join(["python -m training.train", *(sys.argv[1:] if argv is None else argv)])
    try:
        result = train(cfg, resume=args.resume, command=command, epochs=args.epochs)
    except (FileNotFoundError, ModelLoadError) as exc:  # no data set, or a teacher that cannot be loaded
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ranks = join()
    leave(ranks)
    if not ranks.main:
        return 0
    print(json.dumps(result))
    if args.push_to_hub:
        from .push import push_run

        return push_run(Path(cfg.output), args.push_to_hub, private=args.private, revision=args.revision)
    return 0


if __name__ == "__main__":
    sys.exit(main())
