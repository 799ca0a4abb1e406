#pragma once

#include <torch/nn/module.h>

namespace greedyhash {

// Stores every 4-D parameter and buffer of `module` (convolution weights) in the
// channels-last (NHWC) memory format, in place: the tensors keep their identity, so an
// optimiser built before or after the call sees the same parameters. Convolutions then
// pick oneDNN's NHWC kernels and convert NCHW inputs themselves, so callers need not
// change the batches. Values and shapes are unchanged; only the strides differ.
void use_channels_last(torch::nn::Module& module);

}  // namespace greedyhash
