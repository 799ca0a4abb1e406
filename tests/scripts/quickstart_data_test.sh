#!/usr/bin/env bash
# Where scripts/quickstart.sh takes its data from, and scripts/download_cifar10.sh when the
# network is cut or the download is corrupt: exit codes, messages, and that nothing
# half-written is left. Needs no network and no build: curl, wget, md5sum and the build
# are stubs (a stub curl first on PATH, so the real network is never tried).
# The checks are strings that `check ... eval` expands when it runs them:
# shellcheck disable=SC2016
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
md5=c32a1d4ab5d03f1284b67883e8d87530
batch_files=(data_batch_1.bin data_batch_2.bin data_batch_3.bin data_batch_4.bin
             data_batch_5.bin test_batch.bin)

failures=0
check() {  # check DESCRIPTION COMMAND...: counts a failure instead of stopping
  if "${@:2}"; then echo "ok   $1"; else echo "FAIL $1"; failures=$((failures + 1)); fi
}
contains() { grep -qF -- "$2" "$1"; }
# Nothing but what the test put there: no temporary folder, no partial download or unpack.
left_only() {  # left_only DIR [NAME...]: DIR holds exactly these entries (or is absent)
  local dir=$1
  shift
  [ -d "$dir" ] || { [ $# -eq 0 ]; return; }
  [ "$(cd "$dir" && find . -mindepth 1 -maxdepth 1 -printf '%f\n' | sort)" = \
    "$(printf '%s\n' "$@" | sed '/^$/d' | sort)" ]
}
fake_batches() {  # fake_batches DIR [N]: the first N (default 6) batch files, 1 KB each
  mkdir -p "$1"
  local f
  for f in "${batch_files[@]:0:${2:-6}}"; do head -c 1024 /dev/zero >"$1/$f"; done
}

# Stubs. curl/wget modes: fail (no network), junk (a corrupt download), release (a
# stand-in for the release, which the md5sum stub then vouches for), called (records that
# it ran: the test fails if a download was attempted where none should be).
stub_bin() {  # stub_bin NAME MODE: a PATH folder with a stub curl and wget
  local bin=$work/bin-$1
  mkdir -p "$bin"
  for tool in curl wget; do
    cat >"$bin/$tool" <<EOF
#!/usr/bin/env bash
out=
while [ \$# -gt 0 ]; do
  case \$1 in -o|-O) out=\$2; shift ;; esac
  shift
done
case $2 in
  fail) echo "$tool: (6) Could not resolve host: www.cs.toronto.edu" >&2; exit 6 ;;
  junk) head -c 5000 /dev/urandom >"\$out"; exit 0 ;;
  release) cp "$work/release.tar.gz" "\$out"; exit 0 ;;
  called) touch "$work/download-attempted"; exit 6 ;;
esac
EOF
    chmod +x "$bin/$tool"
  done
  if [ "$2" = release ]; then
    printf '#!/usr/bin/env bash\necho "%s  $1"\n' "$md5" >"$bin/md5sum"
    chmod +x "$bin/md5sum"
  fi
  echo "$bin"
}
# The stand-in release: the six batch files under cifar-10-batches-bin/.
fake_batches "$work/release/cifar-10-batches-bin"
tar czf "$work/release.tar.gz" -C "$work/release" cifar-10-batches-bin
# A release archive lacking test_batch.bin.
fake_batches "$work/short/cifar-10-batches-bin" 5
tar czf "$work/short.tar.gz" -C "$work/short" cifar-10-batches-bin

download() {  # download STUB_PATH DIR: runs download_cifar10.sh, output in $work/out
  PATH="$1:$PATH" bash "$repo/scripts/download_cifar10.sh" "$2" >"$work/out" 2>&1
}

# shellcheck source=SCRIPTDIR/../../scripts/lib/cifar10_data.sh
source "$repo/scripts/lib/cifar10_data.sh"

echo "== layouts quickstart accepts as data/ (those greedyhash_train reads)"
d=$work/layouts
mkdir -p "$d/empty"
check "an empty folder holds no CIFAR-10" eval '! cifar10_in_dir "$d/empty"'
check "a missing folder holds no CIFAR-10" eval '! cifar10_in_dir "$d/missing"'
fake_batches "$d/release/cifar-10-batches-bin"
check "DIR/cifar-10-batches-bin/ (download_cifar10.sh's layout)" cifar10_in_dir "$d/release"
fake_batches "$d/partial/cifar-10-batches-bin" 5
check "an incomplete cifar-10-batches-bin/ does not count" eval '! cifar10_in_dir "$d/partial"'
: >"$d/partial/cifar-10-batches-bin/test_batch.bin"
check "an empty batch file does not count" eval '! cifar10_in_dir "$d/partial"'
fake_batches "$d/flat"
check "the batch files themselves" cifar10_in_dir "$d/flat"
mkdir -p "$d/images/train/cat" "$d/images/test/cat"
check "image folders train/<class>/ and test/<class>/" cifar10_in_dir "$d/images"
mkdir -p "$d/trainonly/train/cat"
check "train/ without test/ does not count" eval '! cifar10_in_dir "$d/trainonly"'

echo "== quickstart_data_dir"
called=$(stub_bin called called)
run_qdd() {  # run_qdd ARGS...: stdout in $work/stdout, stderr in $work/stderr
  PATH="$called:$PATH" quickstart_data_dir "$@" >"$work/stdout" 2>"$work/stderr"
}
check "a DATA path given is used as given" eval 'run_qdd "$d/absent-default" "$d/images" &&
  [ "$(cat "$work/stdout")" = "$d/images" ]'
check "a DATA path that does not exist fails, saying so" eval '! run_qdd "$d/x" "$d/nope" &&
  contains "$work/stderr" "$d/nope does not exist" && [ ! -s "$work/stdout" ]'
check "no DATA, CIFAR-10 in the default folder: used, no download" eval 'run_qdd "$d/release" &&
  [ "$(cat "$work/stdout")" = "$d/release" ] &&
  contains "$work/stderr" "using CIFAR-10 in $d/release/" && [ ! -e "$work/download-attempted" ]'

echo "== no DATA, nothing in data/, network cut"
fail=$(stub_bin fail fail)
target=$work/cut/data
check "quickstart_data_dir fails" eval '! PATH="$fail:$PATH" quickstart_data_dir "$target" \
  >"$work/stdout" 2>"$work/stderr"'
check "it says it downloads before fetching" \
  contains "$work/stderr" "no CIFAR-10 in $target/; downloading the official release"
check "the download says why it failed" contains "$work/stderr" "could not download"
check "the last line says what to do" eval \
  '[[ "$(tail -n 1 "$work/stderr")" == "quickstart: no data to run on; put CIFAR-10 in "* ]]'
check "and prints no data folder" test ! -s "$work/stdout"
check "data/ it created is gone again" test ! -e "$target"
mkdir -p "$target"
download "$fail" "$target" && rc=0 || rc=$?
check "download_cifar10.sh exits 1" test "$rc" = 1
check "its message is one line of its own" eval \
  '[ "$(grep -c "^download_cifar10: could not download" "$work/out")" = 1 ]'
check "an existing data/ is left, empty" left_only "$target"

echo "== wget instead of curl; neither"
only=$work/only-tools
mkdir -p "$only"
for tool in bash cat cut md5sum mkdir mktemp mv rm rmdir tar gzip head; do
  ln -s "$(command -v "$tool")" "$only/$tool"
done
cp "$fail/wget" "$only/wget"
PATH=$only bash "$repo/scripts/download_cifar10.sh" "$target" >"$work/out" 2>&1 && rc=0 || rc=$?
check "with wget only: exits 1, says so, leaves nothing" eval '[ "$rc" = 1 ] &&
  contains "$work/out" "could not download" && left_only "$target"'
rm "$only/wget"
PATH=$only bash "$repo/scripts/download_cifar10.sh" "$target" >"$work/out" 2>&1 && rc=0 || rc=$?
check "with neither: exits 1 naming them" eval '[ "$rc" = 1 ] &&
  contains "$work/out" "needs curl or wget" && left_only "$target"'

echo "== corrupt download"
junk=$(stub_bin junk junk)
target=$work/junk/data
download "$junk" "$target" && rc=0 || rc=$?
check "exits 1 on an MD5 mismatch" eval '[ "$rc" = 1 ] && contains "$work/out" "MD5" &&
  contains "$work/out" "expected $md5"'
check "nothing kept" left_only "$target"

echo "== the right MD5 but an archive that does not unpack"
# The junk curl with an md5sum that vouches for anything: tar fails on the junk.
cp "$(stub_bin release release)/md5sum" "$junk/md5sum"
mkdir -p "$target"
download "$junk" "$target" && rc=0 || rc=$?
check "exits 1 saying it cannot unpack" eval '[ "$rc" = 1 ] &&
  contains "$work/out" "cannot unpack"'
check "nothing kept (no partial cifar-10-batches-bin)" left_only "$target"

echo "== an archive that unpacks without all six files"
release=$(stub_bin release release)
cp "$work/short.tar.gz" "$target/cifar-10-binary.tar.gz"
download "$release" "$target" && rc=0 || rc=$?
check "exits 1 naming the missing layout" eval '[ "$rc" = 1 ] &&
  contains "$work/out" "does not hold cifar-10-batches-bin/"'
check "the archive put there is kept, nothing else" left_only "$target" cifar-10-binary.tar.gz
rm "$target/cifar-10-binary.tar.gz"

echo "== a tar killed mid-unpack"
cp -r "$release" "$work/bin-killed"
cat >"$work/bin-killed/tar" <<EOF
#!/usr/bin/env bash
# Writes part of the folder, then dies as a killed tar would.
while [ \$# -gt 0 ]; do [ "\$1" = -C ] && dest=\$2; shift; done
mkdir -p "\$dest/cifar-10-batches-bin"
head -c 100 /dev/zero >"\$dest/cifar-10-batches-bin/data_batch_1.bin"
kill -9 \$\$
EOF
chmod +x "$work/bin-killed/tar"
download "$work/bin-killed" "$target" && rc=0 || rc=$?
check "exits 1 saying it cannot unpack" eval '[ "$rc" = 1 ] && contains "$work/out" "cannot unpack"'
check "no partial cifar-10-batches-bin, no temporary folder" left_only "$target"

echo "== a run killed outright leaves a temporary folder; the next run removes it"
mkdir -p "$target/.cifar10-download.dead01/unpack/cifar-10-batches-bin"
echo 999999999 >"$target/.cifar10-download.dead01/pid"
download "$fail" "$target" || true
check "the dead run's folder is gone" left_only "$target"

echo "== a good download"
download "$release" "$target" && rc=0 || rc=$?
check "exits 0" test "$rc" = 0
check "leaves the archive and the complete folder only" \
  left_only "$target" cifar-10-binary.tar.gz cifar-10-batches-bin
check "quickstart now finds it in data/" cifar10_in_dir "$target"
download "$called" "$target" && rc=0 || rc=$?
check "a second run downloads nothing" eval '[ "$rc" = 0 ] &&
  contains "$work/out" "already there" && [ ! -e "$work/download-attempted" ]'
rm -r "$target/cifar-10-batches-bin"
download "$release" "$target" && rc=0 || rc=$?
check "the archive alone (fetched elsewhere) is unpacked without the network" eval \
  '[ "$rc" = 0 ] && contains "$work/out" "using $target/cifar-10-binary.tar.gz" &&
   cifar10_in_dir "$target"'
rm -r "$target/cifar-10-batches-bin"
echo "not the release" >"$target/cifar-10-binary.tar.gz"
download "$fail" "$target" && rc=0 || rc=$?
check "a wrong archive put there is refused and kept" eval '[ "$rc" = 1 ] &&
  contains "$work/out" "remove it and run again" &&
  left_only "$target" cifar-10-binary.tar.gz'
rm "$target/cifar-10-binary.tar.gz"
fake_batches "$target/cifar-10-batches-bin" 3
download "$called" "$target" && rc=0 || rc=$?
check "an incomplete cifar-10-batches-bin is refused, not overwritten" eval '[ "$rc" = 1 ] &&
  contains "$work/out" "is incomplete" && [ ! -e "$work/download-attempted" ] &&
  [ "$(find "$target/cifar-10-batches-bin" -type f | wc -l)" = 3 ]'

echo "== scripts/quickstart.sh itself, with a stub build and stub apps"
# A copy of the scripts in a scratch root: its data/ and build/ are the test's own.
root=$work/root
mkdir -p "$root/scripts/lib" "$root/build/apps"
cp "$repo/scripts/quickstart.sh" "$repo/scripts/download_cifar10.sh" "$root/scripts/"
cp "$repo/scripts/lib/cifar10_data.sh" "$root/scripts/lib/"
printf '#!/usr/bin/env bash\ntouch "%s/built"\n' "$work" >"$root/scripts/build.sh"
for app in greedyhash_train greedyhash_eval greedyhash_predict; do
  printf '#!/usr/bin/env bash\necho "%s $*" >>"%s/apps.log"\n' "$app" "$work" \
    >"$root/build/apps/$app"
done
chmod +x "$root/scripts/"*.sh "$root/build/apps/"*
quickstart() {  # quickstart STUB_PATH ARGS...: output in $work/out
  local stubs=$1
  shift
  rm -f "$work/built" "$work/apps.log"
  PATH="$stubs:$PATH" bash "$root/scripts/quickstart.sh" "$@" >"$work/out" 2>&1
}
quickstart "$fail" && rc=0 || rc=$?
check "no DATA, network cut: exits non-zero before building" eval '[ "$rc" != 0 ] &&
  [ ! -e "$work/built" ] && [ ! -e "$work/apps.log" ]'
check "  saying it downloads, then what to do" eval '
  contains "$work/out" "downloading the official release" &&
  [[ "$(tail -n 1 "$work/out")" == "quickstart: no data to run on;"* ]]'
check "  nothing half-written: no data/" test ! -e "$root/data"
quickstart "$fail" --epochs 1 && rc=0 || rc=$?
check "a first argument that is a flag is no DATA" eval '[ "$rc" != 0 ] &&
  contains "$work/out" "no CIFAR-10 in data/" && [ ! -e "$root/data" ]'
quickstart "$called" --help && rc=0 || rc=$?
check "--help prints the usage, exits 0, downloads and builds nothing" eval '[ "$rc" = 0 ] &&
  contains "$work/out" "Usage: scripts/quickstart.sh [DATA]" && [ ! -e "$work/built" ] &&
  [ ! -e "$work/download-attempted" ]'
quickstart "$called" "$d/images" --epochs 1 && rc=0 || rc=$?
check "DATA and flags: built, DATA given to all three apps, flags to training" eval '
  [ "$rc" = 0 ] && [ -e "$work/built" ] &&
  grep -qF -- "greedyhash_train --config configs/quickstart.json --data-dir $d/images \
--output-dir output/quickstart --epochs 1" "$work/apps.log" &&
  [ "$(grep -cF -- "--data-dir $d/images" "$work/apps.log")" = 3 ] &&
  [ ! -e "$work/download-attempted" ]'
(cd "$d" && quickstart "$called" images) && rc=0 || rc=$?
check "a relative DATA is taken from where the user stands" eval '[ "$rc" = 0 ] &&
  grep -qF -- "--data-dir $d/images " "$work/apps.log"'
quickstart "$called" "$d/nope" && rc=0 || rc=$?
check "a DATA that does not exist: exits non-zero before building" eval '[ "$rc" != 0 ] &&
  contains "$work/out" "does not exist" && [ ! -e "$work/built" ]'
quickstart "$release" && rc=0 || rc=$?
check "no DATA, download works: data/ fetched, then used" eval '[ "$rc" = 0 ] &&
  cifar10_in_dir "$root/data" && [ "$(grep -cE -- "--data-dir data( |$)" "$work/apps.log")" = 3 ]'
quickstart "$called" --epochs 2 && rc=0 || rc=$?
check "then data/ is used without a download" eval '[ "$rc" = 0 ] &&
  contains "$work/out" "using CIFAR-10 in data/" && [ ! -e "$work/download-attempted" ] &&
  grep -qF -- "--data-dir data --output-dir output/quickstart --epochs 2" "$work/apps.log"'

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed"
  exit 1
fi
echo "all checks passed"
