// greedyhash_export: writes a trained model as a self-contained TorchScript file.
#include <cstdio>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/cli/trained_run.h"
#include "greedyhash/inference/trained_model.h"
#include "greedyhash/model/feature_hasher.h"
#include "greedyhash/model/torchscript_export.h"

namespace {

using namespace greedyhash;
namespace fs = std::filesystem;

// A --features run: its hash layer as TorchScript (features -> codes) at `output`, and as
// <output stem>_weight.npy and _bias.npy beside it.
int export_feature_hasher(const Config& config, const std::string& checkpoint,
                          const fs::path& output) {
  const RunFiles files(run_folder(config));
  const fs::path used = checkpoint_of(files, checkpoint);
  FeatureHasherMeta meta;
  const FeatureHasher model = load_feature_hasher(used, config.bit, &meta);
  save_torchscript(model, output);
  const fs::path stem = output.parent_path() / output.stem();
  const fs::path weight = stem.string() + "_weight.npy";
  const fs::path bias = stem.string() + "_bias.npy";
  save_hash_layer_npy(model, weight, bias);
  std::printf(
      "wrote %s: features N x %lld -> %lld-bit codes, from %s (epoch %lld)\n"
      "wrote %s (%lld x %lld) and %s: codes = sign(features @ weight.T + bias), sign(0) = +1\n",
      output.c_str(), static_cast<long long>(meta.input_dim), static_cast<long long>(meta.bits),
      used.c_str(), static_cast<long long>(meta.epoch), weight.c_str(),
      static_cast<long long>(meta.bits), static_cast<long long>(meta.input_dim), bias.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "Export a trained GreedyHash model as TorchScript. The module's forward takes a float\n"
      "batch N x 3 x S x S normalised with ImageNet mean/std and returns (codes in {-1,+1},\n"
      "logits); it loads with torch::jit::load in C++ and torch.jit.load in Python.\n"
      "For a --features run the module takes float features N x D and returns the codes;\n"
      "the hash layer is also written as <output stem>_weight.npy and _bias.npy.",
      "greedyhash_export");
  ConfigFlags flags;
  add_config_flags(app, flags, kExportApp);
  std::string checkpoint;
  std::string output;
  add_checkpoint_flag(app, checkpoint, "to export");
  app.add_option("--output,-o", output, "TorchScript file to write")->required();

  return run_app("greedyhash_export", app, argc, argv, [&] {
    if (const Config config = resolve_config(flags); !config.features.empty()) {
      return export_feature_hasher(config, checkpoint, output);
    }
    const TrainedModel trained = open_trained_model_on_cpu(flags, checkpoint);
    save_torchscript(trained.model, output);
    std::printf("wrote %s: %lld-bit codes, %lld classes, from %s (epoch %lld), input %lld px\n",
                output.c_str(), static_cast<long long>(trained.meta.bits),
                static_cast<long long>(trained.meta.num_classes), trained.checkpoint.c_str(),
                static_cast<long long>(trained.meta.epoch),
                static_cast<long long>(trained.meta.input_size));
    return 0;
  });
}
