#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <c10/core/Device.h>

#include "greedyhash/data/device_transform.h"
#include "greedyhash/data/image_dataset.h"
#include "greedyhash/data/image_decoding.h"
#include "greedyhash/model/greedy_hash.h"

namespace greedyhash {

struct EncodeOptions {
  int64_t batch_size = 128;
  c10::Device device = c10::Device(c10::kCPU);
  TransformOptions transform;
  // "fp32", or "bf16": forward under AutocastScope (runtime/autocast.h); codes and logits
  // come back as float either way.
  std::string precision = "fp32";
  std::string progress_label = "encode";  // "": no progress line
};

// The one set-up of a model for encoding, which every path calls (training's evaluations,
// greedyhash_eval, _predict, _index, _search, the pipeline benchmark), so that a query
// and the collection it is ranked against are encoded alike: `model` moved to `device`
// with its convolution weights channels-last (training's layout, for oneDNN's NHWC
// kernels; values unchanged), and options carrying that device and `precision`. Callers
// set the transform of what they encode.
EncodeOptions prepare_encoder(GreedyHash& model, c10::Device device, const std::string& precision);

// What the model makes of a list of images, in the list's order, on the CPU.
struct EncodedImages {
  at::Tensor codes;   // N x K float in {-1, +1}
  at::Tensor logits;  // N x C float
  at::Tensor labels;  // N x C uint8 multi-hot; undefined for encode_image_files
};

// Runs `model` in eval mode (no dropout, no gradients) over dataset rows `indices`.
EncodedImages encode_images(GreedyHash& model, const ImageDataset& dataset,
                            const std::vector<int64_t>& indices, const EncodeOptions& options);

// Encodes image files (an image collection), decoded with `load` `chunk` files at a time so
// that memory stays bounded however many there are; one progress line covers them all.
// Labels are not known: the result's labels stay undefined.
EncodedImages encode_image_files(GreedyHash& model, const std::vector<std::filesystem::path>& files,
                                 const ImageLoadOptions& load, const EncodeOptions& options,
                                 int64_t chunk = 2048);

// The backbone's output (its features: fc7 for AlexNet and VGG-16, the pooled features of a
// ResNet) for dataset rows `indices`, in eval mode: N x feature_dim float on the CPU. What
// a frozen backbone feeds the hash layer, computed once for unsupervised training.
at::Tensor encode_backbone_features(GreedyHash& model, const ImageDataset& dataset,
                                    const std::vector<int64_t>& indices,
                                    const EncodeOptions& options);

// Rows `rows` (positions into `encoded`) of an encoded set.
EncodedImages select_rows(const EncodedImages& encoded, const std::vector<int64_t>& rows);

}  // namespace greedyhash
