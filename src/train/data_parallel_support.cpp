#include "greedyhash/train/data_parallel_support.h"

#include <string>

#include "greedyhash/error.h"

namespace greedyhash {

void check_data_parallel_support(const Config& config, int64_t world_size) {
  const bool batch_norm = config.backbone.rfind("resnet", 0) == 0;
  if (world_size <= 1 || !batch_norm) return;
  throw Error("--backbone " + config.backbone +
              " has BatchNorm, whose running statistics the data-parallel path does not keep "
              "in step across ranks yet; train it in one process");
}

}  // namespace greedyhash
