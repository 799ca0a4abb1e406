#!/usr/bin/env python3
"""Writes N ImageNet-size JPEGs (500 x 375, landscape, as ImageNet's median image) made
from the CIFAR-10 JPEGs: each one upscaled (bicubic) with Gaussian noise (sd 4) added so
that no two files are alike and the JPEG decoder meets real entropy, at quality 90.

    /usr/bin/python3 bench/make_imagenet_size_jpegs.py \\
        --cifar ../shared/data/cifar10-jpg.tar.gz --out /tmp/imagenet_size --count 200000

Files go to OUT/images/NNN/NNNNNN.jpg (1,000 per folder) with OUT/list_<count>.txt per
requested prefix (`images/000/000000.jpg 0 ... 1 ...`: the 10 CIFAR classes, one-hot).
Never write it inside the repository. Re-running skips the files already there, so a
larger --count extends a smaller set. Progress goes to stderr.
"""
import argparse
import io
import multiprocessing as mp
import os
import sys
import tarfile

import numpy as np
from PIL import Image

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
           "ship", "truck"]


def read_cifar(tar_path):
    """All 60,000 CIFAR JPEGs as (bytes, class id), in (split, class, name) order."""
    items = []
    with tarfile.open(tar_path) as tar:
        for member in tar:
            parts = member.name.split("/")
            if member.isfile() and len(parts) == 4 and parts[2] in CLASSES:
                items.append((parts[1], parts[2], parts[3], tar.extractfile(member).read()))
    items.sort(key=lambda t: (t[0], CLASSES.index(t[1]), t[2]))
    return [(data, CLASSES.index(cls)) for _, cls, _, data in items]


def relative_path(i):
    return "images/%03d/%06d.jpg" % (i // 1000, i)


CIFAR = []  # set in each worker process once, not sent with every job


def set_cifar(cifar):
    CIFAR[:] = cifar


def write_range(args):
    out, start, end = args
    cifar = CIFAR
    for i in range(start, end):
        path = os.path.join(out, relative_path(i))
        if os.path.exists(path):
            continue
        data, _ = cifar[i % len(cifar)]
        rng = np.random.default_rng(i)
        image = Image.open(io.BytesIO(data)).convert("RGB").resize((500, 375), Image.BICUBIC)
        pixels = np.asarray(image, dtype=np.float32) + rng.normal(0, 4, (375, 500, 3))
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp"
        image.save(tmp, "JPEG", quality=90)
        os.replace(tmp, path)
    return end - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cifar", required=True, help="cifar10-jpg.tar.gz")
    parser.add_argument("--out", required=True, help="scratch folder (outside the repository)")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--lists", default="10000,50000,200000",
                        help="write list_<n>.txt for these prefixes (those <= count)")
    parser.add_argument("--processes", type=int, default=os.cpu_count())
    args = parser.parse_args()
    cifar = read_cifar(args.cifar)
    if not cifar:
        sys.exit(f"{args.cifar}: no CIFAR-10 JPEGs found; expected cifar10-jpg/<split>/<class>/")
    os.makedirs(args.out, exist_ok=True)
    chunk = 1000
    jobs = [(args.out, s, min(args.count, s + chunk)) for s in range(0, args.count, chunk)]
    done = 0
    with mp.Pool(args.processes, initializer=set_cifar, initargs=(cifar,)) as pool:
        for n in pool.imap_unordered(write_range, jobs):
            done += n
            print(f"\r{done}/{args.count} images", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    for n in (int(x) for x in args.lists.split(",") if x):
        if n > args.count:
            continue
        with open(os.path.join(args.out, f"list_{n}.txt"), "w") as f:
            for i in range(n):
                label = ["0"] * 10
                label[cifar[i % len(cifar)][1]] = "1"
                f.write(relative_path(i) + " " + " ".join(label) + "\n")


if __name__ == "__main__":
    main()
