#!/usr/bin/env bash
# Downloads the official CIFAR-10 binary release into DIR (default data/) and checks the
# MD5 its publisher gives. Usage: scripts/download_cifar10.sh [DIR]
set -euo pipefail
dir=${1:-data}
url=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
md5=c32a1d4ab5d03f1284b67883e8d87530
archive="$dir/cifar-10-binary.tar.gz"

mkdir -p "$dir"
if [ -f "$dir/cifar-10-batches-bin/test_batch.bin" ]; then
  echo "download_cifar10: $dir/cifar-10-batches-bin is already there"
  exit 0
fi
if ! command -v curl >/dev/null && ! command -v wget >/dev/null; then
  echo "download_cifar10: needs curl or wget (apt-get install curl)" >&2
  exit 1
fi
echo "download_cifar10: fetching $url"
# Bounded: a machine without internet fails within seconds instead of hanging.
if command -v curl >/dev/null; then
  fetch=(curl -fL --connect-timeout 15 --retry 2 -o "$archive.part" "$url")
else
  fetch=(wget --timeout=15 --tries=2 -O "$archive.part" "$url")
fi
if ! "${fetch[@]}"; then
  rm -f "$archive.part"
  echo "download_cifar10: could not download $url (no internet?); fetch it elsewhere and" \
       "unpack it into $dir/, or pass an image-folder copy with --data-dir" >&2
  exit 1
fi
actual=$(md5sum "$archive.part" | cut -d' ' -f1)
if [ "$actual" != "$md5" ]; then
  rm -f "$archive.part"
  echo "download_cifar10: MD5 mismatch ($actual, expected $md5); the download is corrupt" >&2
  exit 1
fi
mv "$archive.part" "$archive"
tar xzf "$archive" -C "$dir"
echo "download_cifar10: unpacked into $dir/cifar-10-batches-bin"
