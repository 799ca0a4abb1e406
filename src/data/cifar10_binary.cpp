#include "greedyhash/data/cifar10_binary.h"

#include <array>
#include <cstring>
#include <fstream>

#include <torch/types.h>

#include "greedyhash/error.h"

namespace greedyhash {

namespace {

constexpr int64_t kSide = 32;
constexpr int64_t kPixels = 3 * kSide * kSide;
constexpr int64_t kRecord = 1 + kPixels;

std::vector<std::string> read_class_names(const std::filesystem::path& meta) {
  std::vector<std::string> names;
  std::ifstream in(meta);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

}  // namespace

const std::vector<std::string>& cifar10_class_names() {
  static const std::vector<std::string> names = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return names;
}

ImageDataset read_cifar10_binary(const std::filesystem::path& batches_dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(batches_dir)) {
    throw Error("CIFAR-10 folder " + batches_dir.string() +
                " does not exist; expected cifar-10-batches-bin with data_batch_1.bin ... "
                "test_batch.bin");
  }
  const std::array<const char*, 6> names = {"data_batch_1.bin", "data_batch_2.bin",
                                            "data_batch_3.bin", "data_batch_4.bin",
                                            "data_batch_5.bin", "test_batch.bin"};
  std::array<int64_t, 6> records{};
  int64_t total = 0;
  for (size_t b = 0; b < names.size(); ++b) {
    const fs::path path = batches_dir / names[b];
    std::error_code ec;
    const auto bytes = static_cast<int64_t>(fs::file_size(path, ec));
    if (ec) {
      throw Error("CIFAR-10 batch " + path.string() + " is missing or unreadable (" + ec.message() +
                  "); expected the 6 files of cifar-10-batches-bin");
    }
    if (bytes == 0 || bytes % kRecord != 0) {
      throw Error("CIFAR-10 batch " + path.string() + " has " + std::to_string(bytes) +
                  " bytes, not a whole number of 3073-byte records (truncated download?)");
    }
    records[b] = bytes / kRecord;
    total += records[b];
  }

  ImageDataset dataset;
  dataset.images = torch::empty({total, 3, kSide, kSide}, torch::kUInt8);
  std::vector<int64_t> class_ids;
  class_ids.reserve(static_cast<size_t>(total));
  dataset.sources.reserve(static_cast<size_t>(total));
  uint8_t* out = dataset.images.data_ptr<uint8_t>();
  std::vector<char> buffer;
  for (size_t b = 0; b < names.size(); ++b) {
    const fs::path path = batches_dir / names[b];
    buffer.resize(static_cast<size_t>(records[b] * kRecord));
    std::ifstream in(path, std::ios::binary);
    if (!in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()))) {
      throw Error("cannot read CIFAR-10 batch " + path.string());
    }
    for (int64_t r = 0; r < records[b]; ++r) {
      const char* record = buffer.data() + r * kRecord;
      const auto label = static_cast<uint8_t>(record[0]);
      if (label > 9) {
        throw Error("CIFAR-10 batch " + path.string() + " record " + std::to_string(r) +
                    " has label " + std::to_string(label) + "; expected 0-9");
      }
      class_ids.push_back(label);
      // The record's pixel layout (R plane, G plane, B plane) is already CHW RGB.
      std::memcpy(out, record + 1, kPixels);
      out += kPixels;
      dataset.sources.push_back(std::string(names[b]) + "#" + std::to_string(r));
    }
    if (b + 1 == 5) dataset.test_offset = static_cast<int64_t>(class_ids.size());
  }
  dataset.labels = one_hot_labels(class_ids, 10);
  const auto meta_names = read_class_names(batches_dir / "batches.meta.txt");
  dataset.class_names = meta_names.size() == 10 ? meta_names : cifar10_class_names();
  return dataset;
}

}  // namespace greedyhash
