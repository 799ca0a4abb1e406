#!/usr/bin/env bash
# Builds the current working tree against Debian 13's LibTorch 2.6 (GCC 14) and runs the
# whole test suite there, in a Debian 13 root made once with debootstrap and reused.
#
#   scripts/check_libtorch2.sh          CPU LibTorch 2.6 (libtorch-dev): build + all tests
#   scripts/check_libtorch2.sh --cuda   CUDA LibTorch 2.6 (libtorch-cuda-dev, contrib) with
#                                       nvcc, Gloo-CUDA and NCCL: compile and link only
#
# Needs root (debootstrap, chroot, mount) and the Debian mirror. The roots live outside the
# repository: GREEDYHASH_DEBIAN13_ROOT (default ~/.cache/greedyhash/debian13) and
# GREEDYHASH_DEBIAN13_CUDA_ROOT (default ~/.cache/greedyhash/debian13-cuda); the CUDA
# LibTorch conflicts with the CPU one, hence two roots. DEBIAN_MIRROR overrides the
# mirror, JOBS the build parallelism (default: nproc). Downloaded .debs are kept in
# ~/.cache/greedyhash/debian13-debs-{cpu,cuda}, so a root that is redone downloads nothing.
#
# Each run copies the working tree (tracked and untracked-not-ignored files) into the
# root, rebuilds incrementally in the root's build folder, prints how long each step took
# and ends with PASS, or FAIL and a non-zero exit status. docs/LIBTORCH2.md has the
# timings.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${HOME}/.cache/greedyhash"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
jobs="${JOBS:-$(nproc)}"
suite=trixie # Debian 13

flavour=cpu
case "${1:-}" in
  "") ;;
  --cuda) flavour=cuda ;;
  -h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "check_libtorch2: unknown argument '$1' (use --cuda or nothing)" >&2; exit 2 ;;
esac

# What the build and the whole suite need, as scripts/install_deps.sh lists them for
# Debian 12, plus ninja, and FAISS (optional dependency of the retrieval module).
common_packages=(
  cmake g++ ninja-build pkg-config
  libopencv-dev libcli11-dev libspdlog-dev nlohmann-json3-dev libgtest-dev
  libopenblas0-pthread libfaiss-dev libjemalloc-dev libmicrohttpd-dev
)
if [[ $flavour == cpu ]]; then
  root="${GREEDYHASH_DEBIAN13_ROOT:-$cache/debian13}"
  components=main
  packages=("${common_packages[@]}" libtorch-dev libgloo-dev
            python3-numpy python3-torch python3-torchvision python3-faiss)
else
  root="${GREEDYHASH_DEBIAN13_CUDA_ROOT:-$cache/debian13-cuda}"
  # libtorch-cuda-dev is in contrib, nvidia-cuda-toolkit and NCCL in non-free.
  components=main,contrib,non-free
  packages=("${common_packages[@]}" libtorch-cuda-dev nvidia-cuda-toolkit libgloo-cuda-dev
            libnccl-dev /var/cache/greedyhash/no-cudnn.deb)
fi
debs="$cache/debian13-debs-$flavour"
base_marker=.greedyhash-base-complete
packages_marker=.greedyhash-packages-complete

# ---- step bookkeeping ---------------------------------------------------------------

step_names=()
step_tenths=() # durations in tenths of a second
current_step=""
tenths_now() { echo $(($(date +%s%N) / 100000000)); }
seconds() { printf '%d.%d s' $(($1 / 10)) $(($1 % 10)); }
run_step() { # run_step NAME FUNCTION: runs FUNCTION, records how long it took
  current_step="$1"
  echo "== check_libtorch2 ($flavour): $1"
  local start
  start="$(tenths_now)"
  "$2"
  step_names+=("$1")
  step_tenths+=($(($(tenths_now) - start)))
  echo "== check_libtorch2 ($flavour): $1 took $(seconds "${step_tenths[-1]}")"
}
summary() {
  local i
  for i in "${!step_names[@]}"; do
    printf '   %-10s %10s\n' "${step_names[$i]}" "$(seconds "${step_tenths[$i]}")"
  done
}
on_exit() {
  local status=$?
  echo
  summary
  if [[ $status -eq 0 ]]; then
    echo "check_libtorch2 ($flavour): PASS"
  else
    echo "check_libtorch2 ($flavour): FAIL in step '$current_step' (exit status $status)"
  fi
}

# ---- the root -------------------------------------------------------------------------

# Paths that hold a mount must never be deleted recursively.
assert_nothing_mounted_under() {
  if findmnt -rn -o TARGET | awk -v p="$1" '$0 == p || index($0, p "/") == 1 { found = 1 }
                                            END { exit !found }'; then
    echo "check_libtorch2: something is mounted under $1; unmount it first" >&2
    exit 1
  fi
}

# in_root COMMAND...: runs COMMAND in the root, in a private mount namespace so that
# the mounts (/proc, /dev, /sys, a fresh /tmp, the .deb cache as apt's archive folder,
# and ../shared read-only beside /work/src, where the tests that need the real CIFAR-10
# look for it) disappear however the command ends.
in_root() {
  local shared=""
  [[ -d "$repo/../shared" ]] && shared="$(cd "$repo/../shared" && pwd)"
  unshare --mount --propagation private -- /bin/bash -euc '
    root="$1" debs="$2" shared="$3"; shift 3
    if [[ -n $shared ]]; then
      mkdir -p "$root/work/shared"
      mount --bind -o ro "$shared" "$root/work/shared"
    fi
    mount --bind "$debs" "$root/var/cache/apt/archives"
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mount --rbind /sys "$root/sys"
    mount -t tmpfs tmpfs "$root/tmp"
    exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      DEBIAN_FRONTEND=noninteractive "$@"
  ' in_root "$root" "$debs" "$shared" "$@"
}

# debootstrap into ROOT.partial, renamed to ROOT only once complete: a root without the
# marker is never trusted, a half-made ROOT.partial is thrown away and redone.
make_base() {
  if [[ -f "$root/$base_marker" ]]; then
    echo "reusing $root"
    return
  fi
  if [[ -e "$root" ]]; then
    echo "check_libtorch2: $root exists but was not made by this script; remove it" >&2
    exit 1
  fi
  local partial="$root.partial"
  assert_nothing_mounted_under "$partial"
  rm -rf --one-file-system "$partial"
  mkdir -p "$partial"
  # In its own mount namespace: the /proc and /sys debootstrap mounts in the new root
  # vanish with it, also when it is interrupted.
  unshare --mount --propagation private -- debootstrap --variant=minbase \
    --components="$components" --cache-dir="$debs" "$suite" "$partial" "$mirror"
  touch "$partial/$base_marker"
  mv "$partial" "$root"
}

# libtorch-cuda-2.6 depends on nvidia-cudnn, which downloads cuDNN from NVIDIA when it is
# configured. Compiling and linking needs no cuDNN (its symbols stay unresolved, see
# configure), so an empty local package provides nvidia-cudnn instead.
make_cudnn_placeholder() {
  local dir="$root/var/cache/greedyhash/no-cudnn"
  mkdir -p "$dir/DEBIAN"
  cat > "$dir/DEBIAN/control" <<'EOF'
Package: greedyhash-no-cudnn
Version: 1.0
Architecture: all
Maintainer: greedyhash <noreply@localhost>
Provides: nvidia-cudnn (= 9.0.0.312~cuda12)
Conflicts: nvidia-cudnn
Description: stands in for nvidia-cudnn in check_libtorch2.sh --cuda
 Installs no files: cuDNN is not needed to compile and link against LibTorch.
EOF
  in_root dpkg-deb --build /var/cache/greedyhash/no-cudnn /var/cache/greedyhash/no-cudnn.deb
}

# Installs (or completes the installation of) the package list; the marker holds the
# list it was made for, so a changed list installs again.
install_packages() {
  local wanted
  wanted="$(printf '%s\n' "${packages[@]}" | sort)"
  if [[ -f "$root/$packages_marker" && "$(cat "$root/$packages_marker")" == "$wanted" ]]; then
    echo "all ${#packages[@]} packages installed"
    return
  fi
  rm -f "$root/$packages_marker"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  local suites="$suite $suite-updates"
  printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: %s\nSigned-By: %s\n' \
    "$mirror" "$suites" "${components//,/ }" \
    /usr/share/keyrings/debian-archive-keyring.gpg > "$root/etc/apt/sources.list.d/debian.sources"
  rm -f "$root/etc/apt/sources.list"
  [[ $flavour == cuda ]] && make_cudnn_placeholder
  in_root dpkg --configure -a
  in_root apt-get -o Acquire::Retries=3 update -qq
  in_root apt-get -o Acquire::Retries=3 install -y -q --no-install-recommends "${packages[@]}"
  echo "$wanted" > "$root/$packages_marker"
}

# The files git would commit (tracked and untracked-not-ignored, as they are now in the
# working tree) at /work/src in the root. A file whose content is already there is left
# alone, so the build folder rebuilds only what changed; a changed or new file gets the
# current time. (Keeping the working tree's times instead let ninja keep objects built
# from another version of a file that happened to be older: seen as a link error.)
copy_tree() {
  local dest="$root/work/src" staging="$root/work/src.incoming"
  git -C "$repo" rev-parse --git-dir > /dev/null
  assert_nothing_mounted_under "$dest"
  rm -rf --one-file-system "$staging"
  mkdir -p "$staging" "$dest"
  local file
  (
    cd "$repo"
    # Tracked files deleted in the working tree are still listed: skip them.
    git ls-files -z -co --exclude-standard --deduplicate |
      while IFS= read -r -d '' file; do
        [[ -e $file || -L $file ]] && printf '%s\0' "$file"
      done |
      tar --null -T - -cf -
  ) | tar -C "$staging" --touch -xf -
  # Files gone from the tree first (the next loop empties the staging folder).
  while IFS= read -r -d '' file; do
    [[ -e $staging/$file || -L $staging/$file ]] || rm -f "$dest/$file"
  done < <(cd "$dest" && find . \( -type f -o -type l \) -print0)
  local changed=0
  while IFS= read -r -d '' file; do
    if ! cmp -s "$staging/$file" "$dest/$file"; then
      mkdir -p "$(dirname "$dest/$file")"
      mv -f "$staging/$file" "$dest/$file"
      changed=$((changed + 1))
    fi
  done < <(cd "$staging" && find . \( -type f -o -type l \) -print0)
  rm -rf --one-file-system "$staging"
  echo "$(find "$dest" -type f | wc -l) files, $changed new or changed"
}

configure() {
  local options=(-G Ninja -DCMAKE_BUILD_TYPE=Release)
  if [[ $flavour == cuda ]]; then
    # No .cu files of ours; one architecture keeps Torch's CMake from probing for a GPU.
    # libtorch_cuda.so needs cuDNN, which Debian only downloads from NVIDIA at install
    # time: link with its symbols left unresolved, and since nothing linked can then
    # run, let GoogleTest list the tests when ctest runs, not right after linking.
    # shellcheck disable=SC2054 # the comma belongs to the linker flag
    options+=(-DTORCH_CUDA_ARCH_LIST=9.0
              -DCMAKE_EXE_LINKER_FLAGS=-Wl,--unresolved-symbols=ignore-in-shared-libs
              -DCMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE=PRE_TEST)
  fi
  in_root cmake -S /work/src -B /work/build "${options[@]}"
}

# -k 0: every source that fails is reported in one run, not only the first.
build() {
  in_root cmake --build /work/build --parallel "$jobs" -- -k 0
}

# The suite in full; tests comparing with /usr/bin/python3 skip when it lacks a module,
# so check first that none will.
run_tests() {
  in_root /usr/bin/python3 -c 'import numpy, torch, torchvision; print("python3: torch", torch.__version__)'
  in_root ctest --test-dir /work/build --output-on-failure --parallel "$jobs"
}

# What the CUDA build must show without a GPU: the library compiled the NCCL branch and
# the executables load LibTorch's CUDA library.
check_cuda_link() {
  local library=/work/build/src/libgreedyhash.a
  in_root /bin/sh -c "nm -C $library | grep -q 'c10d::ProcessGroupNCCL::ProcessGroupNCCL'" || {
    echo "check_libtorch2: $library has no ProcessGroupNCCL: the NCCL branch was not compiled" >&2
    return 1
  }
  local binary
  for binary in apps/greedyhash_train tests/greedyhash_tests; do
    in_root /bin/sh -c "readelf -d /work/build/$binary | grep -q 'NEEDED.*libtorch_cuda.so'" || {
      echo "check_libtorch2: /work/build/$binary does not load libtorch_cuda.so" >&2
      return 1
    }
  done
  echo "NCCL branch compiled; executables load libtorch_cuda.so"
}

main() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "check_libtorch2: needs root (debootstrap, chroot, mount)" >&2
    exit 1
  fi
  # The host needs debootstrap to make the root (not in install_deps.sh: the check is a
  # developer's, not the build's).
  if ! command -v debootstrap >/dev/null; then
    echo "check_libtorch2: installing debootstrap"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
  fi
  mkdir -p "$debs"
  trap on_exit EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  run_step root make_base
  run_step packages install_packages
  run_step copy copy_tree
  run_step configure configure
  run_step build build
  if [[ $flavour == cpu ]]; then
    run_step tests run_tests
  else
    run_step link-check check_cuda_link
  fi
}

# On one line: bash reads a script as it runs it, so an edit made meanwhile cannot run.
main "$@"; exit
