#include "greedyhash/train/memory_check.h"

#include <unistd.h>

#include <cstdio>
#include <string>

#include "greedyhash/error.h"
#include "greedyhash/model/backbone.h"
#include "greedyhash/model/training_memory.h"

namespace greedyhash {

namespace {

std::string gigabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f GB", static_cast<double>(bytes) / 1e9);
  return text;
}

}  // namespace

int64_t physical_memory_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES);
  const long page_size = ::sysconf(_SC_PAGESIZE);
  return pages > 0 && page_size > 0 ? int64_t{pages} * page_size : 0;
}

void check_training_memory(const Config& config, c10::Device device, int64_t memory_bytes) {
  check_backbone_name(config.backbone);
  if (!device.is_cpu() || memory_bytes <= 0) return;
  const int64_t per_image = training_bytes_per_image(config.backbone, config.input_size);
  const int64_t needed =
      config.batch_size * per_image + training_model_bytes(config.backbone, config.bit);
  if (needed <= memory_bytes) return;
  throw Error("--backbone " + config.backbone + " with --batch-size " +
              std::to_string(config.batch_size) + " at --input-size " +
              std::to_string(config.input_size) + " needs about " + gigabytes(needed) +
              " to train (" + gigabytes(per_image) + " per image), more than this machine's " +
              gigabytes(memory_bytes) + "; lower --batch-size or --input-size");
}

}  // namespace greedyhash
