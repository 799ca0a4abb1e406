#include "greedyhash/model/training_memory.h"

#include "greedyhash/model/alexnet.h"

namespace greedyhash {

namespace {

// Output side of a convolution or pooling window over `side` pixels.
int64_t window_output(int64_t side, int64_t kernel, int64_t stride, int64_t padding) {
  return (side + 2 * padding - kernel) / stride + 1;
}

}  // namespace

int64_t training_bytes_per_image(int64_t input_size) {
  // torchvision's AlexNet: conv 11/4 pad 2, pool 3/2, conv 5 pad 2, pool 3/2, three
  // conv 3 pad 1, pool 3/2, then 256 x 6 x 6 -> 4096 -> 4096.
  const int64_t c1 = window_output(input_size, 11, 4, 2);
  const int64_t p1 = window_output(c1, 3, 2, 0);
  const int64_t p2 = window_output(p1, 3, 2, 0);
  const int64_t p3 = window_output(p2, 3, 2, 0);
  const int64_t floats = 3 * input_size * input_size + 64 * c1 * c1 + (64 + 192) * p1 * p1 +
                         (192 + 384 + 256 + 256) * p2 * p2 + 256 * p3 * p3 + 256 * 6 * 6 +
                         2 * AlexNetImpl::kFeatureDim;
  const int64_t pool_indices = 64 * p1 * p1 + 192 * p2 * p2 + 256 * p3 * p3;
  return 2 * 4 * floats + 8 * pool_indices;
}

int64_t training_model_bytes(int64_t bits) {
  const int64_t d = AlexNetImpl::kFeatureDim;
  const int64_t backbone = (64 * 3 * 11 * 11 + 64) + (192 * 64 * 5 * 5 + 192) +
                           (384 * 192 * 3 * 3 + 384) + (256 * 384 * 3 * 3 + 256) +
                           (256 * 256 * 3 * 3 + 256) + (256 * 6 * 6 * d + d) + (d * d + d);
  const int64_t head = d * bits + bits;
  return 3 * 4 * (backbone + head);
}

}  // namespace greedyhash
