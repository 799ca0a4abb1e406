#include "greedyhash/data/cifar10.h"

#include "greedyhash/data/cifar10_binary.h"
#include "greedyhash/data/dataset_images.h"
#include "greedyhash/data/image_folder.h"
#include "greedyhash/error.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;

ImageDataset load_pooled_image_folders(const fs::path& root, const ImageLoadOptions& options) {
  auto train = list_image_folder(root / "train");
  auto test = list_image_folder(root / "test");
  if (train.class_names != test.class_names) {
    throw Error("image folders " + (root / "train").string() + " and " + (root / "test").string() +
                " have different class folders; expected the same");
  }
  const auto train_count = static_cast<int64_t>(train.files.size());
  train.files.insert(train.files.end(), test.files.begin(), test.files.end());
  train.class_ids.insert(train.class_ids.end(), test.class_ids.begin(), test.class_ids.end());

  ImageDataset dataset;
  attach_images(dataset, train.files, options);
  dataset.labels = one_hot_labels(train.class_ids, static_cast<int64_t>(train.class_names.size()));
  dataset.sources.reserve(train.files.size());
  for (const auto& file : train.files) dataset.sources.push_back(file.string());
  dataset.class_names = std::move(train.class_names);
  dataset.test_offset = train_count;
  return dataset;
}

}  // namespace

ImageDataset load_cifar10(const fs::path& root, const ImageLoadOptions& options) {
  if (!fs::is_directory(root)) {
    throw Error("CIFAR-10 data folder " + root.string() + " does not exist");
  }
  if (fs::is_directory(root / "cifar-10-batches-bin")) {
    return load_cifar10(root / "cifar-10-batches-bin", options);
  }
  if (fs::exists(root / "data_batch_1.bin")) {
    if (options.stream) {
      throw Error("CIFAR-10 data folder " + root.string() +
                  " holds binary batches, which cannot be streamed; use --image-pipeline memory "
                  "(they fit: 184 MB), or the image-folder layout");
    }
    return read_cifar10_binary(root);
  }
  if (fs::is_directory(root / "train") && fs::is_directory(root / "test")) {
    return load_pooled_image_folders(root, options);
  }
  throw Error("CIFAR-10 data folder " + root.string() +
              " has none of the known layouts; expected cifar-10-batches-bin/, "
              "data_batch_1.bin ... test_batch.bin, or train/<class>/ and test/<class>/ images");
}

}  // namespace greedyhash
