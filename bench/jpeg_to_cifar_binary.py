#!/usr/bin/env python3
"""Writes the CIFAR-10 JPEG folder (train/<class>/*.jpg, test/<class>/*.jpg) as the
official binary release (cifar-10-batches-bin), for greedyhash builds without OpenCV.

Records keep the pooled order greedyhash reads the JPEG folder in (train then test; in
each, class folder name, then file name), so a split drawn on the binary files is the
split drawn on the folder. Each record: a label byte, then the R, G, B planes (32 x 32,
row-major). Five training batches of 10,000 records, one test batch, batches.meta.txt.

    python3 bench/jpeg_to_cifar_binary.py JPEG_ROOT OUT_DIR   # writes OUT_DIR/cifar-10-batches-bin
"""

import os
import sys

import numpy as np
from PIL import Image

EXTENSIONS = (".jpg", ".jpeg", ".png")


def list_split(split_dir):
    classes = sorted(d for d in os.listdir(split_dir)
                     if not d.startswith(".") and os.path.isdir(os.path.join(split_dir, d)))
    files, labels = [], []
    for label, name in enumerate(classes):
        folder = os.path.join(split_dir, name)
        for f in sorted(os.listdir(folder)):
            if f.lower().endswith(EXTENSIONS) and not f.startswith("."):
                files.append(os.path.join(folder, f))
                labels.append(label)
    return classes, files, labels


def records(files, labels):
    out = np.empty((len(files), 1 + 3 * 32 * 32), dtype=np.uint8)
    for i, (path, label) in enumerate(zip(files, labels)):
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"), dtype=np.uint8)
        if pixels.shape != (32, 32, 3):
            sys.exit(f"{path}: {pixels.shape[1]} x {pixels.shape[0]} pixels; expected 32 x 32")
        out[i, 0] = label
        out[i, 1:] = pixels.transpose(2, 0, 1).reshape(-1)
    return out


def write(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data.tobytes())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root, out_dir = sys.argv[1], os.path.join(sys.argv[2], "cifar-10-batches-bin")
    train_classes, train_files, train_labels = list_split(os.path.join(root, "train"))
    test_classes, test_files, test_labels = list_split(os.path.join(root, "test"))
    if train_classes != test_classes or len(train_files) != 50000 or len(test_files) != 10000:
        sys.exit(f"{root}: expected 50,000 train and 10,000 test images in the same class folders")
    os.makedirs(out_dir, exist_ok=True)
    train = records(train_files, train_labels)
    for b in range(5):
        write(os.path.join(out_dir, f"data_batch_{b + 1}.bin"), train[b * 10000:(b + 1) * 10000])
    write(os.path.join(out_dir, "test_batch.bin"), records(test_files, test_labels))
    with open(os.path.join(out_dir, "batches.meta.txt"), "w") as f:
        f.write("".join(name + "\n" for name in train_classes))
    print(out_dir)


if __name__ == "__main__":
    main()
