#include "greedyhash/index/index_files.h"

#include <fstream>
#include <iterator>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"
#include "greedyhash/serialize/sha256.h"

namespace greedyhash {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kFormat = "greedyhash binary index sidecar";
constexpr int64_t kFormatVersion = 1;

std::string padding_note(int bits) {
  const int padded = padded_bits(bits);
  if (padded == bits) return "none: the code length is a whole number of bytes";
  return std::to_string(bits) + "-bit codes are padded with " + std::to_string(padded - bits) +
         " zero bits to " + std::to_string(padded) +
         " in the index and in every query, so Hamming distances are unchanged";
}

std::string read_bytes(const fs::path& file, const std::string& what) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    throw Error("cannot read " + what + " " + file.string() +
                "; build the index with greedyhash_index");
  }
  return std::string(std::istreambuf_iterator<char>(in), {});
}

template <typename T>
T field(const json& j, const char* key, const fs::path& file) {
  if (!j.contains(key)) {
    throw Error("index sidecar " + file.string() + " has no '" + key +
                "'; rebuild the index with greedyhash_index");
  }
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw Error("index sidecar " + file.string() + " has a '" + key +
                "' of the wrong type; rebuild the index with greedyhash_index");
  }
}

}  // namespace

fs::path manifest_path(const fs::path& index_file) {
  return fs::path(index_file.string() + ".json");
}

json manifest_json(const IndexManifest& m) {
  json j = {{"format", kFormat},
            {"format_version", kFormatVersion},
            {"index_type", m.index_type},
            {"index_sha256", m.index_sha256},
            {"bits", m.bits},
            {"index_bits", padded_bits(m.bits)},
            {"padding", padding_note(m.bits)},
            {"checkpoint", m.checkpoint},
            {"checkpoint_sha256", m.checkpoint_sha256},
            {"checkpoint_epoch", m.checkpoint_epoch},
            {"run_dir", m.run_dir},
            {"collection", m.collection},
            {"source", m.source},
            {"size", m.items.size()},
            {"items", m.items}};
  if (m.index_type == "ivf") {
    j["nlist"] = m.nlist;
    j["nprobe"] = m.nprobe;
  }
  if (!m.dataset_indices.empty()) j["dataset_indices"] = m.dataset_indices;
  if (m.has_labels()) {
    j["class_names"] = m.class_names;
    j["labels"] = m.labels;
  }
  return j;
}

IndexManifest parse_manifest(const json& j, const fs::path& file) {
  if (!j.is_object() || j.value("format", "") != kFormat) {
    throw Error(file.string() + " is not a greedyhash index sidecar; rebuild the index with " +
                "greedyhash_index");
  }
  if (field<int64_t>(j, "format_version", file) > kFormatVersion) {
    throw Error("index sidecar " + file.string() +
                " is from a newer greedyhash; rebuild the index with this version");
  }
  IndexManifest m;
  m.bits = field<int>(j, "bits", file);
  m.index_type = field<std::string>(j, "index_type", file);
  parse_index_type(m.index_type, "index sidecar " + file.string() + ": index_type");
  if (m.index_type == "ivf") {
    m.nlist = field<int64_t>(j, "nlist", file);
    m.nprobe = field<int64_t>(j, "nprobe", file);
  }
  m.index_sha256 = field<std::string>(j, "index_sha256", file);
  m.checkpoint = field<std::string>(j, "checkpoint", file);
  m.checkpoint_sha256 = field<std::string>(j, "checkpoint_sha256", file);
  m.checkpoint_epoch = field<int64_t>(j, "checkpoint_epoch", file);
  m.run_dir = field<std::string>(j, "run_dir", file);
  m.collection = field<std::string>(j, "collection", file);
  m.source = field<std::string>(j, "source", file);
  m.items = field<std::vector<std::string>>(j, "items", file);
  if (j.contains("dataset_indices")) {
    m.dataset_indices = field<std::vector<int64_t>>(j, "dataset_indices", file);
  }
  if (j.contains("class_names")) {
    m.class_names = field<std::vector<std::string>>(j, "class_names", file);
    m.labels = field<std::vector<std::vector<int64_t>>>(j, "labels", file);
  }
  const bool sizes_agree =
      (m.dataset_indices.empty() || m.dataset_indices.size() == m.items.size()) &&
      (m.labels.empty() || m.labels.size() == m.items.size());
  if (!sizes_agree) {
    throw Error("index sidecar " + file.string() +
                " lists different numbers of items, dataset indices and labels; rebuild the "
                "index with greedyhash_index");
  }
  for (const auto& classes : m.labels) {
    for (const int64_t c : classes) {
      if (c < 0 || c >= static_cast<int64_t>(m.class_names.size())) {
        throw Error("index sidecar " + file.string() + " has a label " + std::to_string(c) +
                    " outside its " + std::to_string(m.class_names.size()) +
                    " class names; rebuild the index with greedyhash_index");
      }
    }
  }
  return m;
}

void write_index_files(const fs::path& index_file, const BinaryIndex& index,
                       IndexManifest manifest) {
  if (static_cast<int64_t>(manifest.items.size()) != index.size()) {
    throw std::logic_error("write_index_files: " + std::to_string(manifest.items.size()) +
                           " items for an index of " + std::to_string(index.size()) + " codes");
  }
  const std::string bytes = index.to_bytes();
  manifest.index_sha256 = sha256_hex(bytes);
  manifest.index_type = index_type_name(index.type());
  manifest.nlist = index.nlist();
  manifest.nprobe = index.nprobe();
  write_file_atomically(index_file, bytes);
  write_file_atomically(manifest_path(index_file), manifest_json(manifest).dump(1) + "\n");
}

IndexFiles read_index_files(const fs::path& index_file) {
  const fs::path sidecar = manifest_path(index_file);
  const std::string bytes = read_bytes(index_file, "index file");
  const json j = json::parse(read_bytes(sidecar, "index sidecar"), nullptr, false);
  if (j.is_discarded()) {
    throw Error("index sidecar " + sidecar.string() +
                " is not valid JSON; rebuild the index with greedyhash_index");
  }
  IndexManifest manifest = parse_manifest(j, sidecar);
  if (sha256_hex(bytes) != manifest.index_sha256) {
    throw Error(index_file.string() + " is not the index its sidecar " + sidecar.string() +
                " describes (its SHA-256 differs; was one of them replaced or a build " +
                "interrupted?); rebuild the index with greedyhash_index");
  }
  BinaryIndex index = BinaryIndex::from_bytes(bytes, index_file.string());
  if (index.size() != static_cast<int64_t>(manifest.items.size()) ||
      index.padded_bits() != padded_bits(manifest.bits)) {
    throw Error(index_file.string() + " holds " + std::to_string(index.size()) + " codes of " +
                std::to_string(index.padded_bits()) + " bits but its sidecar lists " +
                std::to_string(manifest.items.size()) + " items of " +
                std::to_string(manifest.bits) + " bits; rebuild the index with greedyhash_index");
  }
  return {std::move(index), std::move(manifest)};
}

void check_index_matches_model(const IndexManifest& manifest, const fs::path& index_file, int bits,
                               const std::string& checkpoint_sha256) {
  if (manifest.bits != bits) {
    throw Error("index " + index_file.string() + " holds " + std::to_string(manifest.bits) +
                "-bit codes but the model has " + std::to_string(bits) +
                " bits; pass the matching --bit or rebuild the index with greedyhash_index");
  }
  if (manifest.checkpoint_sha256 != checkpoint_sha256) {
    throw Error("index " + index_file.string() + " was built with checkpoint " +
                manifest.checkpoint + " (SHA-256 " + manifest.checkpoint_sha256.substr(0, 12) +
                "...), not with this one (" + checkpoint_sha256.substr(0, 12) +
                "...): the index is stale; rebuild it with greedyhash_index");
  }
}

}  // namespace greedyhash
