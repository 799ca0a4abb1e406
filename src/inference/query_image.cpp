#include "greedyhash/inference/query_image.h"

#include <torch/torch.h>

#include "greedyhash/data/image_decoding.h"
#include "greedyhash/error.h"

namespace greedyhash {

namespace fs = std::filesystem;

QueryImage test_image_query(const RunData& data, int64_t pic_id) {
  const ImageDataset& dataset = data.dataset;
  const int64_t offset = dataset.test_offset >= 0 ? dataset.test_offset : 0;
  const int64_t count = dataset.test_offset >= 0 ? dataset.size() - offset
                                                 : static_cast<int64_t>(data.split.query.size());
  if (pic_id < 0 || pic_id >= count) {
    throw Error("--pic_id " + std::to_string(pic_id) + " is out of range: the test set of " +
                data.source + " has " + std::to_string(count) + " images (0.." +
                std::to_string(count - 1) + ")");
  }
  const int64_t index =
      dataset.test_offset >= 0 ? offset + pic_id : data.split.query[static_cast<size_t>(pic_id)];
  QueryImage query;
  query.image = dataset.image(index).unsqueeze(0);
  query.label = dataset.labels[index];
  query.name =
      "test " + std::to_string(pic_id) + " (" + dataset.sources[static_cast<size_t>(index)] + ")";
  query.tag = "test_" + std::to_string(pic_id);
  query.transform = data.eval_transform;
  return query;
}

QueryImage image_file_query(const fs::path& file, const OutsideImageOptions& outside) {
  QueryImage query;
  query.image = decode_image_files({file}, outside.load);
  query.name = file.string();
  query.tag = file.stem().string();
  query.transform = outside.transform;
  return query;
}

EncodedImages encode_query(GreedyHash& model, const QueryImage& query, EncodeOptions options) {
  ImageDataset one;
  one.images = query.image;
  one.labels =
      query.label.defined() ? query.label.unsqueeze(0) : torch::zeros({1, 1}, torch::kUInt8);
  options.transform = query.transform;
  options.progress_label = "";
  return encode_images(model, one, {0}, options);
}

}  // namespace greedyhash
