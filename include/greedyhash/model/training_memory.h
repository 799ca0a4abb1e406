#pragma once

#include <cstdint>
#include <string>

namespace greedyhash {

// What training GreedyHash holds in memory, estimated from the backbone's layer shapes, so
// that a batch or input size the machine cannot hold is refused before any work starts
// instead of failing inside LibTorch's allocator after the data is loaded. An unknown
// backbone name is a greedyhash::Error listing the names.

// Per image of side `input_size`: every float32 activation the backward pass keeps, as
// much again for their gradients. AlexNet: counted layer by layer (input, each
// convolution's and pooling's output, the fully connected layers' outputs) plus the int64
// indices of its three max-poolings. The others: their layers' output floats per input
// pixel, counted once in torchvision (the largest of 224 and 64 px), times the pixels.
int64_t training_bytes_per_image(const std::string& backbone, int64_t input_size);

// Weights, their gradients and SGD's momentum: three float32 copies of the parameters of
// the backbone and the hash layer. The K x C code classifier is left out: a few KB.
int64_t training_model_bytes(const std::string& backbone, int64_t bits);

// torchvision's parameter count of the architecture without its 1000-class layer, and
// its feature width (what the hash layer takes).
struct BackboneSize {
  int64_t parameters;
  int64_t feature_dim;
};
BackboneSize backbone_size(const std::string& backbone);

}  // namespace greedyhash
