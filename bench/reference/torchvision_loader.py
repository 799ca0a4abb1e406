#!/usr/bin/env python3
"""torchvision's DataLoader on the files of a list file, timed the way
greedyhash_bench_image_stream times greedyhash's loader: one shuffled epoch of training
batches, PIL decode -> Resize(256) -> RandomCrop(224) -> RandomHorizontalFlip -> ToTensor
-> Normalize (ImageNet mean/std), nothing done with the batches. Prints one JSON object.

    /usr/bin/python3 bench/reference/torchvision_loader.py --list DIR/list_10000.txt --workers 2
"""
import argparse
import json
import os
import resource
import sys
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms


class ListImages(Dataset):
    def __init__(self, list_file, root, limit, transform):
        with open(list_file) as f:
            self.paths = [os.path.join(root, line.split()[0]) for line in f if line.strip()]
        if limit > 0:
            self.paths = self.paths[:limit]
        self.transform = transform

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        with open(self.paths[i], "rb") as f:
            image = Image.open(f).convert("RGB")
        return self.transform(image), 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", required=True)
    parser.add_argument("--root", default=None, help="default: the list file's folder")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--warmup-batches", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(1)
    transform = transforms.Compose([
        transforms.Resize(256),
        transforms.RandomCrop(224),
        transforms.RandomHorizontalFlip(),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    root = args.root or os.path.dirname(os.path.abspath(args.list))
    dataset = ListImages(args.list, root, args.limit, transform)
    loader = DataLoader(dataset, batch_size=args.batch_size, shuffle=True,
                        num_workers=args.workers)
    start = time.perf_counter()
    t0 = start
    batches = 0
    timed = 0
    for images, _ in loader:
        batches += 1
        if batches == args.warmup_batches:
            t0 = time.perf_counter()
        elif batches > args.warmup_batches:
            timed += images.shape[0]
        if batches % 50 == 0:
            print(f"\r{batches * args.batch_size}/{len(dataset)} images", end="",
                  file=sys.stderr, flush=True)
    print(file=sys.stderr)
    seconds = time.perf_counter() - t0
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({
        "pipeline": "torchvision DataLoader",
        "images": len(dataset),
        "batch_size": args.batch_size,
        "workers": args.workers,
        "torch": torch.__version__,
        "epoch_seconds": time.perf_counter() - start,
        "timed_images": timed,
        "images_per_s": timed / seconds,
        "peak_rss_self_mb": self_mb,
        "peak_rss_children_mb": children_mb,
    }))


if __name__ == "__main__":
    main()
