#include "greedyhash/data/image_dataset.h"

#include <stdexcept>

#include <torch/types.h>

#include "greedyhash/data/streamed_images.h"

namespace greedyhash {

int64_t ImageDataset::size() const {
  if (streamed) return static_cast<int64_t>(streamed->files.size());
  return images.defined() ? images.size(0) : 0;
}

at::Tensor ImageDataset::image(int64_t i) const {
  if (streamed) return read_streamed_image(*streamed, i);
  return images[i];
}

int64_t ImageDataset::num_classes() const {
  return labels.defined() ? labels.size(1) : 0;
}

bool ImageDataset::multi_label() const {
  if (!labels.defined() || labels.size(0) == 0) return false;
  return (labels.sum(1) > 1).any().item<bool>();
}

at::Tensor class_ids_of(const at::Tensor& one_hot) {
  return one_hot.argmax(-1).to(torch::kLong);
}

std::string class_name_or_id(const std::vector<std::string>& class_names, int64_t id) {
  return id >= 0 && id < static_cast<int64_t>(class_names.size())
             ? class_names[static_cast<size_t>(id)]
             : std::to_string(id);
}

at::Tensor one_hot_labels(const std::vector<int64_t>& class_ids, int64_t num_classes) {
  auto labels = torch::zeros({static_cast<int64_t>(class_ids.size()), num_classes}, torch::kUInt8);
  auto* data = labels.data_ptr<uint8_t>();
  for (size_t i = 0; i < class_ids.size(); ++i) {
    if (class_ids[i] < 0 || class_ids[i] >= num_classes) {
      throw std::out_of_range("one_hot_labels: class id " + std::to_string(class_ids[i]) +
                              " outside [0, " + std::to_string(num_classes) + ")");
    }
    data[static_cast<int64_t>(i) * num_classes + class_ids[i]] = 1;
  }
  return labels;
}

}  // namespace greedyhash
