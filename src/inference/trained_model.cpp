#include "greedyhash/inference/trained_model.h"

#include "greedyhash/error.h"

namespace greedyhash {

namespace fs = std::filesystem;

fs::path default_checkpoint(const RunFiles& files) {
  if (fs::exists(files.best)) return files.best;
  if (fs::exists(files.last)) return files.last;
  throw Error("no checkpoint in " + files.dir.string() +
              " (best.pt or last.pt); train first with greedyhash_train, or pass --checkpoint");
}

std::string selection_description(const std::string& selection) {
  if (selection == "validation") {
    return "the epoch with the highest mAP of the held-out validation queries";
  }
  if (selection == "query") {
    return "the epoch with the highest mAP of the test queries, as the public implementations "
           "choose (not held out: the mAP reported on them is biased upwards)";
  }
  if (selection == "last epoch") return "the last epoch trained";
  return "chosen by '" + selection + "'";
}

TrainedModel load_trained_model(const fs::path& checkpoint, int64_t bits, c10::Device device) {
  if (!fs::exists(checkpoint)) {
    throw Error("checkpoint " + checkpoint.string() + " does not exist; pass --checkpoint PATH");
  }
  TrainedModel trained;
  trained.checkpoint = checkpoint;
  const CheckpointMeta meta = read_checkpoint_meta(checkpoint);
  trained.model = GreedyHash(bits, meta.num_classes, meta.backbone);
  trained.meta = load_checkpoint(checkpoint, trained.model);
  trained.model->to(device);
  trained.model->eval();
  return trained;
}

}  // namespace greedyhash
