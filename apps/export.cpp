// greedyhash_export: writes a trained model as a self-contained TorchScript file.
#include <cstdio>

#include "greedyhash/cli/app_main.h"
#include "greedyhash/cli/config_flags.h"
#include "greedyhash/cli/trained_run.h"
#include "greedyhash/model/torchscript_export.h"

int main(int argc, char** argv) {
  using namespace greedyhash;
  CLI::App app(
      "Export a trained GreedyHash model as TorchScript. The module's forward takes a float\n"
      "batch N x 3 x S x S normalised with ImageNet mean/std and returns (codes in {-1,+1},\n"
      "logits); it loads with torch::jit::load in C++ and torch.jit.load in Python.",
      "greedyhash_export");
  ConfigFlags flags;
  add_config_flags(app, flags, kExportApp);
  std::string checkpoint;
  std::string output;
  add_checkpoint_flag(app, checkpoint, "to export");
  app.add_option("--output,-o", output, "TorchScript file to write")->required();

  return run_app("greedyhash_export", app, argc, argv, [&] {
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
