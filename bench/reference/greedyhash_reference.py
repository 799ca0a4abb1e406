#!/usr/bin/python3
"""GreedyHash on CIFAR-10 (I), written the way a PyTorch user would write it.

This is the baseline the C++ benchmarks are compared against: torchvision AlexNet,
a hash layer with a straight-through sign, PIL + ImageFolder + DataLoader input.
It prints one JSON object on stdout; progress goes to stderr.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision
from torch.utils.data import ConcatDataset, DataLoader, Subset
from torchvision import datasets, transforms

QUERY_PER_CLASS = 100
TRAIN_PER_CLASS = 500
ALPHA = 0.1


def log(message):
    print(message, file=sys.stderr, flush=True)


class GreedySign(torch.autograd.Function):
    """Forward: sign with sign(0) = +1. Backward: the gradient passes unchanged."""

    @staticmethod
    def forward(ctx, h):
        return torch.where(h >= 0, torch.ones_like(h), -torch.ones_like(h))

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output


class GreedyHashNet(nn.Module):
    """torchvision's backbone without its 1000-class layer (AlexNet and VGG-16: up to fc7
    and the dropout after it, as the official code cuts them; ResNets: up to the global
    pooling), the hash layer and the code classifier. The backbone's modules sit at the
    top, so the parameters keep torchvision's names (features.0.weight, conv1.weight, ...)."""

    def __init__(self, bit, num_classes, pretrained=None, backbone="alexnet"):
        super().__init__()
        net = getattr(torchvision.models, backbone)(weights=None)
        if pretrained:
            net.load_state_dict(torch.load(pretrained, map_location="cpu"))
        self.resnet = backbone.startswith("resnet")
        if self.resnet:
            width = net.fc.in_features
            self.body = [name for name, _ in net.named_children() if name != "fc"]
            for name in self.body:
                self.add_module(name, getattr(net, name))
        else:
            width = 4096
            self.features = net.features
            self.avgpool = net.avgpool
            # Keeping the Sequential keeps the parameter names (classifier.1, ...).
            self.classifier = nn.Sequential(*list(net.classifier.children())[:6])
        self.hash_layer = nn.Linear(width, bit)
        self.code_classifier = nn.Linear(bit, num_classes, bias=False)

    def forward(self, x):
        if self.resnet:
            for name in self.body:
                x = getattr(self, name)(x)
            x = torch.flatten(x, 1)
        else:
            x = torch.flatten(self.avgpool(self.features(x)), 1)
            x = self.classifier(x)
        h = self.hash_layer(x)
        b = GreedySign.apply(h)
        return h, b, self.code_classifier(b)


def greedy_hash_loss(h, logits, labels):
    return F.cross_entropy(logits, labels) + ALPHA * (h.abs() - 1).abs().pow(3).mean()


def cifar10_i_split(labels, seed):
    """Per class: seeded permutation; first 100 -> query, next 500 -> train, rest -> database-only.

    Returns (query, train, database) index arrays into the pooled set, each sorted
    ascending; database = train + database-only.
    """
    rng = np.random.RandomState(seed)
    query, train, db_only = [], [], []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        query.append(idx[:QUERY_PER_CLASS])
        train.append(idx[QUERY_PER_CLASS : QUERY_PER_CLASS + TRAIN_PER_CLASS])
        db_only.append(idx[QUERY_PER_CLASS + TRAIN_PER_CLASS :])
    query = np.sort(np.concatenate(query))
    train = np.sort(np.concatenate(train))
    database = np.sort(np.concatenate([train] + db_only))
    return query, train, database


def decode_runs(runs):
    """A greedyhash split.json list: indices, and [first, last] for runs first..last."""
    out = []
    for item in runs:
        if isinstance(item, list):
            out.extend(range(item[0], item[1] + 1))
        else:
            out.append(item)
    return np.array(out, dtype=np.int64)


def load_greedyhash_split(path, pool_size):
    """query, train, database, validation index arrays of a greedyhash run's split.json."""
    with open(path) as f:
        split = json.load(f)
    if split["dataset"]["count"] != pool_size:
        sys.exit(f"{path}: split of {split['dataset']['count']} images, pool has {pool_size}")
    return tuple(decode_runs(split.get(key, [])) for key in
                 ("query", "train", "database", "validation"))


def evenly_spaced(indices, n):
    """n items spread evenly over a sorted index list: indices[floor(i * len / n)].

    Pool order is class-sorted, so a plain prefix would hold one or two classes only.
    """
    if n is None or n >= len(indices):
        return indices
    return indices[(np.arange(n) * len(indices)) // n]


def tie_aware_mean_average_precision(query_codes, query_labels, db_codes, db_labels):
    """Expected AP over all orders within each group of equal Hamming distance
    (McSherry & Najork, ECIR 2008), averaged over queries; no tie rule needed.

    In a group of n items holding r relevant ones, after B items holding R_B relevant
    ones, position B + j (j = 1..n) holds a relevant item with probability r / n, and
    then R_B + 1 + (j - 1)(r - 1)/(n - 1) relevant items are at or above it.
    """
    bits = query_codes.shape[1]
    hamming = np.rint(0.5 * (bits - query_codes @ db_codes.T)).astype(np.int64)
    relevant_all = (query_labels @ db_labels.T) > 0
    aps = np.zeros(len(query_codes))
    for q in range(len(query_codes)):
        relevant = relevant_all[q]
        total_relevant = int(relevant.sum())
        if total_relevant == 0:
            continue
        n_at = np.bincount(hamming[q], minlength=bits + 1)
        r_at = np.bincount(hamming[q], weights=relevant, minlength=bits + 1)
        before, relevant_before, expected = 0, 0.0, 0.0
        for n, r in zip(n_at, r_at):
            if n == 0:
                continue
            if r > 0:
                j = np.arange(1, n + 1)
                above = relevant_before + 1 + ((j - 1) * (r - 1) / (n - 1) if n > 1 else 0.0)
                expected += (r / n) * np.sum(above / (before + j))
            before += n
            relevant_before += r
        aps[q] = expected / total_relevant
    return float(aps.mean())


def mean_average_precision(query_codes, query_labels, db_codes, db_labels):
    """mAP@all over Hamming ranking, ties broken by database index (stable sort).

    Codes are in {-1, +1}; labels are one-hot / multi-hot rows. A query with no
    relevant item contributes AP 0. Returns (mAP, number of queries without relevant items).
    """
    bits = query_codes.shape[1]
    hamming = 0.5 * (bits - query_codes @ db_codes.T)
    relevant_all = (query_labels @ db_labels.T) > 0
    aps = np.zeros(len(query_codes))
    no_relevant = 0
    for q in range(len(query_codes)):
        order = np.argsort(hamming[q], kind="stable")
        relevant = relevant_all[q, order]
        r = int(relevant.sum())
        if r == 0:
            no_relevant += 1
            continue
        positions = np.flatnonzero(relevant) + 1
        aps[q] = np.mean(np.arange(1, r + 1) / positions)
    return float(aps.mean()), no_relevant


def evaluate(model, loader_of, queries, database, labels, num_classes, device, precision,
             channels_last):
    """mAP, tie-aware mAP and accuracy of `queries` ranked against `database`."""
    query_codes, query_logits = encode(model, loader_of(queries), device, precision, channels_last)
    db_codes, _ = encode(model, loader_of(database), device, precision, channels_last)
    one_hot = np.eye(num_classes, dtype=np.float32)
    args = (query_codes.astype(np.float32), one_hot[labels[queries]],
            db_codes.astype(np.float32), one_hot[labels[database]])
    map_all, no_relevant = mean_average_precision(*args)
    return {
        "map": map_all,
        "map_tie_aware": tie_aware_mean_average_precision(*args),
        "accuracy": float((query_logits.argmax(1) == labels[queries]).mean()),
        "queries_without_relevant": no_relevant,
    }


def autocast(device, precision):
    """bf16: the forward under torch.autocast, as greedyhash's --precision bf16 runs it."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16")


def to_model_input(images, device, channels_last):
    images = images.to(device, non_blocking=True)
    return images.to(memory_format=torch.channels_last) if channels_last else images


def encode(model, loader, device, precision="fp32", channels_last=False):
    model.eval()
    codes, logits_all = [], []
    with torch.no_grad(), autocast(device, precision):
        for images, _ in loader:
            _, b, logits = model(to_model_input(images, device, channels_last))
            codes.append(b.float().cpu())
            logits_all.append(logits.float().cpu())
    if device.type == "cuda":
        torch.cuda.synchronize()
    return torch.cat(codes).numpy(), torch.cat(logits_all).numpy()


def peak_rss_mb():
    # Linux reports ru_maxrss in KiB; RUSAGE_CHILDREN is the largest reaped child
    # (a DataLoader worker), not a sum over children.
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return own, children


# Flags that change what an epoch computes; a checkpoint resumes only under the same ones.
RUN_DEFINING_FLAGS = ("data_dir", "bit", "threads", "batch_size", "lr", "lr_step", "input_size",
                      "split", "eval_every", "val_database_size", "train_images", "pretrained",
                      "device", "seed", "backbone", "precision", "channels_last")
# What a checkpoint saved before these flags existed ran with.
EARLIER_DEFAULTS = {"backbone": "alexnet", "precision": "fp32", "channels_last": False}


def run_defining_flags(args):
    return {name: getattr(args, name) for name in RUN_DEFINING_FLAGS}


def save_checkpoint(path, args, epochs_done, model, optimizer, scheduler, train_generator):
    """Everything the next epoch reads, so a resumed run repeats an unbroken one exactly.

    Both RNG streams matter: the train loader's generator draws the shuffle order and the
    workers' seeds, the global one draws dropout masks and the eval loaders' worker seeds.
    """
    state = {
        "epochs_done": epochs_done,
        "flags": run_defining_flags(args),
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "train_loader_rng": train_generator.get_state(),
    }
    temporary = path + ".tmp"
    torch.save(state, temporary)
    os.replace(temporary, path)


def load_checkpoint(path, args, model, optimizer, scheduler, train_generator):
    """Restores save_checkpoint's state; returns the number of epochs it had done."""
    state = torch.load(path, map_location="cpu")
    saved = {**EARLIER_DEFAULTS, **state["flags"]}
    changed = [f"--{k.replace('_', '-')} {saved.get(k)} -> {v}"
               for k, v in run_defining_flags(args).items() if saved.get(k) != v]
    if changed:
        sys.exit(f"{path}: saved by a run with other flags ({', '.join(changed)}); "
                 "rerun with its flags, or delete it to start afresh")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["torch_rng"])
    train_generator.set_state(state["train_loader_rng"])
    return state["epochs_done"]


def open_metrics(path, keep_epochs):
    """The per-epoch record, cut to its first keep_epochs lines (a resumed run's epochs),
    open for appending. The cut goes through a temporary file and a rename, so a kill
    during it loses no line."""
    lines = []
    if keep_epochs > 0:
        if os.path.exists(path):
            with open(path) as existing:
                lines = existing.readlines()[:keep_epochs]
        if len(lines) < keep_epochs:
            sys.exit(f"{path}: holds {len(lines)} epochs but the checkpoint {keep_epochs}; "
                     "delete both to start afresh")
    temporary = path + ".tmp"
    with open(temporary, "w") as cut:
        cut.writelines(lines)
    os.replace(temporary, path)
    return open(path, "a")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data-dir", required=True, help="image-folder root with train/ and test/")
    p.add_argument("--bit", type=int, default=48)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1),
                   help="DataLoader num_workers (default: min(4, cores))")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--eval-batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-step", type=int, default=30, help="x0.1 every N epochs (StepLR)")
    p.add_argument("--input-size", type=int, default=224, help="network input side")
    p.add_argument("--split", default=None,
                   help="a greedyhash run's split.json: use its query/train/database/validation "
                        "lists instead of drawing a split")
    p.add_argument("--eval-every", type=int, default=0,
                   help="evaluate the validation queries of --split every N epochs and after "
                        "the last (0 = never)")
    p.add_argument("--val-database-size", type=int, default=0,
                   help="rank validation queries against N evenly spaced database images "
                        "(0 = the whole database without the validation images)")
    p.add_argument("--metrics-out", default=None,
                   help="write one JSON line per epoch (losses, validation metrics) here")
    p.add_argument("--train-images", type=int, default=None,
                   help="train on N images of the train split (evenly spaced)")
    p.add_argument("--database-size", type=int, default=None)
    p.add_argument("--query-size", type=int, default=None)
    p.add_argument("--warmup-batches", type=int, default=3,
                   help="training batches excluded from train_img_per_s")
    p.add_argument("--train-only", action="store_true",
                   help="stop after training: no encoding or metrics (bench/whole_process.sh)")
    p.add_argument("--quick", action="store_true",
                   help="320 train images, 5,000 database images, 100 queries")
    p.add_argument("--pretrained", default=None, help="torchvision state_dict of the backbone (.pth)")
    p.add_argument("--backbone", default="alexnet",
                   choices=["alexnet", "vgg16", "resnet18", "resnet34", "resnet50", "resnet101"])
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", default="fp32", choices=["fp32", "bf16"],
                   help="bf16: forward passes under torch.autocast (bfloat16), the loss in float32")
    p.add_argument("--channels-last", action="store_true",
                   help="the model and its inputs in the channels-last memory format")
    p.add_argument("--seed", type=int, default=2000)
    p.add_argument("--checkpoint", default=None,
                   help="after each epoch, save the training state here (model, momentum, LR "
                        "schedule, RNG streams), by a temporary file and a rename")
    p.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint when it exists (the same flags; "
                        "--metrics-out keeps its first epochs); start afresh when it does not")
    args = p.parse_args()
    if args.resume and not args.checkpoint:
        p.error("--resume needs --checkpoint")
    if args.quick:
        args.train_images = args.train_images or 320
        args.database_size = args.database_size or 5000
        args.query_size = args.query_size or 100
    return args


def main():
    args = parse_args()
    wall_start = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device(args.device)
    pin = device.type == "cuda"

    transform = transforms.Compose([
        transforms.Resize((args.input_size, args.input_size),
                          interpolation=transforms.InterpolationMode.BILINEAR),
        transforms.ToTensor(),
        transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
    ])

    t0 = time.perf_counter()
    train_folder = datasets.ImageFolder(os.path.join(args.data_dir, "train"), transform)
    test_folder = datasets.ImageFolder(os.path.join(args.data_dir, "test"), transform)
    if train_folder.classes != test_folder.classes:
        sys.exit(f"{args.data_dir}: train/ and test/ must hold the same class folders")
    pool = ConcatDataset([train_folder, test_folder])
    labels = np.array(train_folder.targets + test_folder.targets)
    num_classes = len(train_folder.classes)
    val_idx = np.array([], dtype=np.int64)
    if args.split:
        query_idx, train_idx, db_idx, val_idx = load_greedyhash_split(args.split, len(pool))
    else:
        query_idx, train_idx, db_idx = cifar10_i_split(labels, args.seed)
    if args.eval_every > 0 and len(val_idx) == 0:
        sys.exit("--eval-every needs --split with validation queries")
    val_db_idx = evenly_spaced(np.setdiff1d(db_idx, val_idx), args.val_database_size or None)
    train_idx = evenly_spaced(train_idx, args.train_images)
    db_idx = evenly_spaced(db_idx, args.database_size)
    query_idx = evenly_spaced(query_idx, args.query_size)
    data_load_seconds = time.perf_counter() - t0
    log(f"pool {len(pool)} images, {num_classes} classes; train {len(train_idx)}, "
        f"query {len(query_idx)}, database {len(db_idx)}; {data_load_seconds:.2f} s")

    train_generator = torch.Generator().manual_seed(args.seed)
    train_loader = DataLoader(Subset(pool, train_idx), batch_size=args.batch_size, shuffle=True,
                              num_workers=args.workers, pin_memory=pin, generator=train_generator)

    def eval_loader(indices):
        return DataLoader(Subset(pool, indices), batch_size=args.eval_batch_size,
                          shuffle=False, num_workers=args.workers, pin_memory=pin)

    model = GreedyHashNet(args.bit, num_classes, args.pretrained, args.backbone).to(device)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                                weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=args.lr_step, gamma=0.1)
    first_epoch = 0
    if args.resume and os.path.exists(args.checkpoint):
        first_epoch = load_checkpoint(args.checkpoint, args, model, optimizer, scheduler,
                                      train_generator)
        log(f"resumed from {args.checkpoint} after epoch {first_epoch}")
    metrics_out = open_metrics(args.metrics_out, first_epoch) if args.metrics_out else None

    # Timing starts after the first few batches (worker start-up, allocator warm-up) and
    # covers the whole pipeline: loading, forward, loss, backward, SGD step.
    global_step, timed_images, t_train = 0, 0, None
    for epoch in range(first_epoch, args.epochs):
        model.train()
        running_loss, seen = 0.0, 0
        for step, (images, targets) in enumerate(train_loader):
            if global_step == args.warmup_batches:
                if device.type == "cuda":
                    torch.cuda.synchronize()
                t_train = time.perf_counter()
            images = to_model_input(images, device, args.channels_last)
            targets = targets.to(device, non_blocking=True)
            with autocast(device, args.precision):
                h, _, logits = model(images)
            loss = greedy_hash_loss(h.float(), logits.float(), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            running_loss += loss.item() * len(targets)
            seen += len(targets)
            if t_train is not None:
                timed_images += len(targets)
            if step % 10 == 0:
                log(f"epoch {epoch + 1} step {step}: loss {loss.item():.4f}")
            global_step += 1
        log(f"epoch {epoch + 1}: mean loss {running_loss / max(seen, 1):.4f}")
        record = {"epoch": epoch + 1, "lr": optimizer.param_groups[0]["lr"],
                  "loss": running_loss / max(seen, 1)}
        scheduler.step()
        done = epoch + 1
        if args.eval_every > 0 and (done % args.eval_every == 0 or done == args.epochs):
            result = evaluate(model, eval_loader, val_idx, val_db_idx, labels, num_classes,
                              device, args.precision, args.channels_last)
            record.update({"val_" + key: value for key, value in result.items()})
            log(f"epoch {done}: validation {result}")
        if metrics_out:
            metrics_out.write(json.dumps(record) + "\n")
            metrics_out.flush()
        if args.checkpoint:
            save_checkpoint(args.checkpoint, args, done, model, optimizer, scheduler,
                            train_generator)
    if device.type == "cuda":
        torch.cuda.synchronize()
    train_img_per_s = timed_images / (time.perf_counter() - t_train) if t_train else None
    if args.train_only:
        print(json.dumps({"impl": "python", "train_img_per_s": train_img_per_s,
                          "train_images": int(len(train_idx)),
                          "wall_seconds": time.perf_counter() - wall_start}))
        return

    t_eval = time.perf_counter()
    query_codes, query_logits = encode(model, eval_loader(query_idx), device, args.precision,
                                       args.channels_last)
    t_db = time.perf_counter()
    db_codes, _ = encode(model, eval_loader(db_idx), device, args.precision, args.channels_last)
    encode_seconds = time.perf_counter() - t_db
    log(f"encoded {len(query_idx)} queries and {len(db_idx)} database images")
    one_hot = np.eye(num_classes, dtype=np.float32)
    final_args = (query_codes.astype(np.float32), one_hot[labels[query_idx]],
                  db_codes.astype(np.float32), one_hot[labels[db_idx]])
    map_all, no_relevant = mean_average_precision(*final_args)
    eval_seconds = time.perf_counter() - t_eval
    map_tie_aware = tie_aware_mean_average_precision(*final_args)
    accuracy = float((query_logits.argmax(1) == labels[query_idx]).mean())

    rss_self, rss_children = peak_rss_mb()
    print(json.dumps({
        "impl": "python",
        "train_img_per_s": train_img_per_s,
        "encode_img_per_s": len(db_idx) / encode_seconds,
        "eval_seconds": eval_seconds,
        "map": map_all,
        "map_tie_aware": map_tie_aware,
        "query_accuracy": accuracy,
        "queries_without_relevant": no_relevant,
        "data_load_seconds": data_load_seconds,
        "peak_rss_mb": rss_self + rss_children,
        "peak_rss_self_mb": rss_self,
        "peak_rss_children_mb": rss_children,
        "threads": args.threads,
        "workers": args.workers,
        "device": str(device),
        "precision": args.precision,
        "channels_last": args.channels_last,
        "backbone": args.backbone,
        "bit": args.bit,
        "input_size": args.input_size,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "epochs": args.epochs,
        "train_images": int(len(train_idx)),
        "timed_train_images": timed_images,
        "database_size": int(len(db_idx)),
        "query_size": int(len(query_idx)),
        "pretrained": bool(args.pretrained),
        "seed": args.seed,
        "torch_version": torch.__version__,
        "wall_seconds": time.perf_counter() - wall_start,
    }))


if __name__ == "__main__":
    main()
