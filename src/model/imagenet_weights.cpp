#include "greedyhash/model/imagenet_weights.h"

#include <cstdlib>
#include <regex>

#include "greedyhash/error.h"
#include "greedyhash/serialize/sha256.h"
#include "greedyhash/serialize/state_dict.h"

namespace greedyhash {

void load_imagenet_weights(BackboneImpl& backbone, const std::filesystem::path& file) {
  // The backbone's own names are torchvision's, and it has no final 1000-class layer: its
  // parameters and buffers are exactly the entries to load.
  const StateDict source = read_state_dict(file);
  StateDict targets = backbone.named_parameters();
  const std::string counter = ".num_batches_tracked";
  for (const auto& buffer : backbone.named_buffers()) {
    const std::string& key = buffer.key();
    const bool is_counter = key.size() > counter.size() &&
                            key.compare(key.size() - counter.size(), counter.size(), counter) == 0;
    if (!is_counter || source.contains(key)) targets.insert(key, buffer.value());
  }
  try {
    copy_named_tensors(source, targets, file);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + "; --backbone " + backbone.name() +
                " takes torchvision's " + backbone.name() + " weights (" +
                torchvision_weight_files(backbone.name()).front() + ")");
  }
}

void load_imagenet_weights(GreedyHash& model, const std::filesystem::path& file) {
  // GreedyHash registers the backbone's submodules as its own, so these are the same
  // tensors the model trains.
  load_imagenet_weights(*model->backbone, file);
}

namespace {

std::optional<std::filesystem::path> environment_path(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::filesystem::path(value);
}

}  // namespace

std::filesystem::path torch_hub_checkpoint_dir() {
  std::filesystem::path torch_home;
  if (auto home = environment_path("TORCH_HOME")) {
    torch_home = *home;
  } else if (auto cache = environment_path("XDG_CACHE_HOME")) {
    torch_home = *cache / "torch";
  } else {
    torch_home = environment_path("HOME").value_or(".") / ".cache" / "torch";
  }
  return torch_home / "hub" / "checkpoints";
}

std::optional<std::filesystem::path> resolve_pretrained(const std::string& setting,
                                                        const std::string& backbone) {
  if (setting.empty()) return std::nullopt;
  if (setting != "auto") return std::filesystem::path(setting);
  for (const auto& name : torchvision_weight_files(backbone)) {
    const auto cached = torch_hub_checkpoint_dir() / name;
    if (std::filesystem::is_regular_file(cached)) return cached;
  }
  return std::nullopt;
}

std::string checked_weights_sha256(const std::filesystem::path& file) {
  const std::string digest = file_sha256_hex(file);
  // torch.hub names its downloads `name-<digest prefix>.ext`.
  static const std::regex named_digest(R"(.*-([0-9a-f]{8,64}))");
  std::smatch match;
  const std::string stem = file.stem().string();
  if (std::regex_match(stem, match, named_digest) && digest.rfind(match[1].str(), 0) != 0) {
    throw Error(file.string() + ": its SHA-256 begins " + digest.substr(0, 8) + ", not " +
                match[1].str() +
                " as its name says: the file is damaged or not the published one; download "
                "it again");
  }
  return digest;
}

}  // namespace greedyhash
