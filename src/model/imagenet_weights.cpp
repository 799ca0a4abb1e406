#include "greedyhash/model/imagenet_weights.h"

#include <cstdlib>
#include <regex>

#include "greedyhash/error.h"
#include "greedyhash/serialize/sha256.h"
#include "greedyhash/serialize/state_dict.h"

namespace greedyhash {

void load_imagenet_weights(AlexNet& backbone, const std::filesystem::path& file) {
  // The backbone's own parameter names are torchvision's, and it has no classifier.6:
  // its parameter list is exactly the set of entries to load.
  copy_named_tensors(read_state_dict(file), backbone->named_parameters(), file);
}

void load_imagenet_weights(GreedyHash& model, const std::filesystem::path& file) {
  // GreedyHash registers the backbone's submodules as its own, so these are the same
  // tensors the model trains.
  load_imagenet_weights(model->backbone, file);
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
                                                        const std::string& cached_name) {
  if (setting.empty()) return std::nullopt;
  if (setting != "auto") return std::filesystem::path(setting);
  const auto cached = torch_hub_checkpoint_dir() / cached_name;
  if (!std::filesystem::is_regular_file(cached)) return std::nullopt;
  return cached;
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
