#include "greedyhash/train/trained_model.h"

#include "greedyhash/error.h"

namespace greedyhash {

namespace fs = std::filesystem;

fs::path default_checkpoint(const RunFiles& files) {
  if (fs::exists(files.best)) return files.best;
  if (fs::exists(files.last)) return files.last;
  throw Error("no checkpoint in " + files.dir.string() +
              " (best.pt or last.pt); train first with greedyhash_train, or pass --checkpoint");
}

TrainedModel load_trained_model(const fs::path& checkpoint, int64_t bits, c10::Device device) {
  if (!fs::exists(checkpoint)) {
    throw Error("checkpoint " + checkpoint.string() + " does not exist; pass --checkpoint PATH");
  }
  TrainedModel trained;
  trained.checkpoint = checkpoint;
  const CheckpointMeta meta = read_checkpoint_meta(checkpoint);
  trained.model = GreedyHash(bits, meta.num_classes);
  trained.meta = load_checkpoint(checkpoint, trained.model);
  trained.model->to(device);
  trained.model->eval();
  return trained;
}

}  // namespace greedyhash
