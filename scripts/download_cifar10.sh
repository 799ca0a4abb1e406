#!/usr/bin/env bash
# Downloads the official CIFAR-10 binary release (163 MB) into DIR (default data/), checks
# the MD5 its publisher gives and unpacks it as DIR/cifar-10-batches-bin.
# Usage: scripts/download_cifar10.sh [DIR]
# A copy of cifar-10-binary.tar.gz already in DIR (fetched elsewhere) is used instead of
# the network once its MD5 matches. Nothing half-written is ever left under a real name:
# the download and the unpack happen in a hidden temporary folder inside DIR and are
# renamed into place only when complete, so an interrupted run leaves no partial
# cifar-10-batches-bin that a later run would take for the real thing.
set -euo pipefail
dir=${1:-data}
url=https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz
md5=c32a1d4ab5d03f1284b67883e8d87530
archive="$dir/cifar-10-binary.tar.gz"
batches="$dir/cifar-10-batches-bin"
files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin data_batch_5.bin
       test_batch.bin)

fail() {
  echo "download_cifar10: $*" >&2
  exit 1
}

# True when folder $1 holds the six batch files of the release.
complete() {
  local f
  for f in "${files[@]}"; do [ -s "$1/$f" ] || return 1; done
}

if [ -d "$batches" ]; then
  complete "$batches" && { echo "download_cifar10: $batches is already there"; exit 0; }
  # Not ours (we only ever rename a complete folder into place): the user's to remove.
  fail "$batches is incomplete (it lacks some of ${files[*]}); remove it and run again"
fi
tmp=
created=
[ -d "$dir" ] || created=1
# On any exit the temporary folder goes, and so does DIR when this run created it and
# nothing else is in it.
trap '[ -z "$tmp" ] || rm -rf "$tmp"; [ -z "$created" ] || rmdir "$dir" 2>/dev/null || true' EXIT
# Exit on Ctrl-C or kill, so that the EXIT trap runs.
trap 'exit 130' INT
trap 'exit 143' TERM
mkdir -p "$dir" || fail "cannot create $dir"

# A run killed outright (SIGKILL, power cut) could not clean up: remove the temporary
# folders of runs that are no longer alive.
for stale in "$dir"/.cifar10-download.*; do
  [ -d "$stale" ] || continue
  pid=$(cat "$stale/pid" 2>/dev/null || true)
  if [ -z "$pid" ] || [ ! -d "/proc/$pid" ]; then rm -rf "$stale"; fi
done

tmp=$(mktemp -d "$dir/.cifar10-download.XXXXXX") || fail "cannot create a folder in $dir"
echo $$ >"$tmp/pid"

md5_of() { md5sum "$1" | cut -d' ' -f1; }

if [ -f "$archive" ]; then
  actual=$(md5_of "$archive")
  [ "$actual" = "$md5" ] ||
    fail "$archive has MD5 $actual, expected $md5 (not the official release, or truncated);" \
         "remove it and run again"
  echo "download_cifar10: using $archive (MD5 checked)"
else
  if ! command -v curl >/dev/null && ! command -v wget >/dev/null; then
    fail "needs curl or wget (apt-get install curl)"
  fi
  echo "download_cifar10: fetching $url (163 MB)"
  # Bounded: without internet this fails within a minute instead of hanging, and a
  # transfer that stalls is abandoned.
  if command -v curl >/dev/null; then
    quiet=()
    [ -t 2 ] || quiet=(--silent --show-error)  # no progress meter in logs
    fetch=(curl -fL "${quiet[@]}" --connect-timeout 15 --retry 2 --speed-limit 1024
           --speed-time 60 -o "$tmp/archive" "$url")
  else
    fetch=(wget --timeout=15 --tries=2 -O "$tmp/archive" "$url")
  fi
  "${fetch[@]}" ||
    fail "could not download $url (no internet?); nothing kept. Fetch" \
         "cifar-10-binary.tar.gz elsewhere, put it in $dir/ and run again"
  actual=$(md5_of "$tmp/archive")
  [ "$actual" = "$md5" ] ||
    fail "the download has MD5 $actual, expected $md5 (corrupt or truncated); nothing kept," \
         "run again"
fi

mkdir "$tmp/unpack"
src=$archive
[ -f "$tmp/archive" ] && src=$tmp/archive
tar xzf "$src" -C "$tmp/unpack" || fail "cannot unpack $src into $dir (disk full?); nothing kept"
complete "$tmp/unpack/cifar-10-batches-bin" ||
  fail "$src does not hold cifar-10-batches-bin/ with ${files[*]}; nothing kept"
# Renames within one file system: each file appears whole or not at all. -T: never move
# into a folder that appeared meanwhile.
[ -f "$tmp/archive" ] && mv -T "$tmp/archive" "$archive"
mv -T "$tmp/unpack/cifar-10-batches-bin" "$batches" ||
  fail "cannot move the unpacked folder to $batches"
echo "download_cifar10: unpacked into $batches"
