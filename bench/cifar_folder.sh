# Sourced by the benchmark scripts: cifar_folder DATA CACHE prints the CIFAR-10 JPEG folder
# (train/, test/) that DATA names, DATA itself or a .tar.gz of it unpacked once into CACHE.
# The layout matches what the C++ resolve_data_dir makes (CACHE/<archive name>/<single
# wrapper folder>), so both sides read the same unpacked files.
# shellcheck shell=bash
cifar_folder() {
  local data="$1" cache="$2"
  if [[ -f "$data" ]]; then
    local name tmp
    name="$(basename "$data")"; name="${name%.tar.gz}"; name="${name%.tgz}"
    if [[ ! -d "$cache/$name" ]]; then
      mkdir -p "$cache"
      tmp="$(mktemp -d "$cache/.unpack.XXXXXX")"
      tar xzf "$data" -C "$tmp"
      mv "$tmp" "$cache/$name"
    fi
    data="$cache/$name"
    local entries=("$data"/*)
    if [[ ${#entries[@]} -eq 1 && -d "${entries[0]}" ]]; then data="${entries[0]}"; fi
  fi
  if [[ ! -d "$data/train" || ! -d "$data/test" ]]; then
    echo "$data has no train/ and test/ image folders" \
         "(give --data a CIFAR-10 JPEG folder or its .tar.gz)" >&2
    return 1
  fi
  echo "$data"
}
