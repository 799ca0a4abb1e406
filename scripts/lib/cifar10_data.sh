# shellcheck shell=bash
# Where scripts/quickstart.sh takes CIFAR-10 from; sourced by it and by
# tests/scripts/quickstart_data_test.sh, which checks it without building anything.
# Functions return a status instead of relying on `set -e`, which bash switches off in
# the command substitutions that call them.

_cifar10_scripts_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# True when folder $1 holds CIFAR-10 in a layout greedyhash_train reads as `--data-dir $1`
# (src/data/cifar10.cpp, in its order): cifar-10-batches-bin/ (all six batch files, as
# scripts/download_cifar10.sh leaves it), the batch files themselves, or image folders
# train/<class>/ and test/<class>/.
cifar10_in_dir() {
  local dir=$1 f
  if [ -d "$dir/cifar-10-batches-bin" ]; then
    dir=$dir/cifar-10-batches-bin
  elif [ ! -e "$dir/data_batch_1.bin" ]; then
    [ -d "$dir/train" ] && [ -d "$dir/test" ]
    return
  fi
  for f in data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin \
           data_batch_5.bin test_batch.bin; do
    [ -s "$dir/$f" ] || return 1
  done
}

# Prints the --data-dir quickstart uses: DATA when given (it must exist), else DEFAULT when
# CIFAR-10 is in it, else DEFAULT once scripts/download_cifar10.sh has fetched the official
# release into it. Messages go to stderr; on failure the last one says what to do.
# Usage: quickstart_data_dir DEFAULT [DATA]
quickstart_data_dir() {
  local default=$1 data=${2-}
  if [ -n "$data" ]; then
    if [ ! -e "$data" ]; then
      echo "quickstart: $data does not exist; expected a CIFAR-10 folder or a .tar.gz of one" >&2
      return 1
    fi
    printf '%s\n' "$data"
    return 0
  fi
  if cifar10_in_dir "$default"; then
    echo "quickstart: using CIFAR-10 in $default/" >&2
  else
    echo "quickstart: no CIFAR-10 in $default/; downloading the official release (163 MB," \
         "MD5-checked) into it with scripts/download_cifar10.sh" >&2
    if ! bash "$_cifar10_scripts_dir/download_cifar10.sh" "$default" >&2; then
      echo "quickstart: no data to run on; put CIFAR-10 in $default/ (e.g. the" \
           "cifar-10-binary.tar.gz fetched elsewhere) or pass a copy you have:" \
           "scripts/quickstart.sh DATA (a CIFAR-10 folder or a .tar.gz of one)" >&2
      return 1
    fi
  fi
  printf '%s\n' "$default"
}
