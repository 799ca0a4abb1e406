#pragma once

#include <cstdint>

namespace greedyhash {

// What training GreedyHash holds in memory, estimated from AlexNet's layer shapes, so that
// a batch or input size the machine cannot hold is refused before any work starts instead
// of failing inside LibTorch's allocator after the data is loaded.

// Per image of side `input_size`: every float32 activation the backward pass keeps (input,
// each convolution's and pooling's output, the fully connected layers' outputs), as much
// again for their gradients, and the int64 indices of the three max-poolings.
int64_t training_bytes_per_image(int64_t input_size);

// Weights, their gradients and SGD's momentum: three float32 copies of the parameters of
// AlexNet and the hash layer. The K x C code classifier is left out: a few KB.
int64_t training_model_bytes(int64_t bits);

}  // namespace greedyhash
