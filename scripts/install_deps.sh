#!/usr/bin/env bash
# Installs every Debian 12 package greedyhash's build, tests and benchmarks need.
# Idempotent: packages already present are left alone. Runs as root or through sudo.
set -euo pipefail

packages=(
  cmake g++ make
  # Compiles through it when present (cmake/GreedyhashCcache.cmake): a rebuild or a fresh
  # clone on the same machine reuses the objects of earlier builds.
  ccache
  libtorch-dev libopencv-dev libcli11-dev libspdlog-dev nlohmann-json3-dev libgtest-dev
  libgloo-dev
  # Optional: the FAISS binary index (greedyhash_index, greedyhash_search; the build
  # finds it, GREEDYHASH_WITH_FAISS=AUTO), and its Python bindings for the cross-check test.
  libfaiss-dev python3-faiss
  # Without it Debian's LibTorch falls back to reference BLAS and AlexNet's fully
  # connected layers run about 3x slower.
  libopenblas0-pthread
  # numpy reads our .npy files in the tests; python3-torch reads checkpoints and runs the
  # Python reference benchmark.
  python3-numpy python3-torch python3-torchvision
  # Every greedyhash executable links jemalloc (cmake/GreedyhashJemalloc.cmake), and the
  # benchmarks run the Python reference under it: glibc's malloc returns each freed block
  # over 32 MB to the system and page-faults it in again at the next step (AlexNet's fc6
  # gradient is 151 MB; ResNet-50 trains 3.7x slower). jemalloc keeps freed memory for
  # reuse when told to; tcmalloc (libgoogle-perftools) was not needed.
  libjemalloc-dev
  # scripts/fuzz.sh: clang with libFuzzer and the sanitizer runtimes (the test suite runs
  # each fuzz target on its seeds and a few thousand inputs).
  clang-14 libclang-rt-14-dev
  # Runs the unit tests on an emulated CPU without AVX-512 (scripts/test_without_avx512.sh).
  qemu-user
  # greedyhash_serve's HTTP: libmicrohttpd (limits on headers, connections and idle time
  # built in, fuzzed by OSS-Fuzz; docs/SERVING.md says why this library). pkg-config finds it.
  libmicrohttpd-dev pkg-config
  # The search page tested in a real browser (tests/serve/browser_test.py): headless
  # Chromium driven by Selenium, all from Debian.
  chromium chromium-driver python3-selenium
  # The Flask + PyTorch service the load test compares against (bench/serve_load.sh).
  python3-flask
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install_deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install_deps: run as root or install sudo" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install_deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
