#include "greedyhash/data/cifar10.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <fstream>

#include "greedyhash/data/cifar10_binary.h"
#include "greedyhash/error.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

const char* const kBatches[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};

int label_of(int batch, int record) {
  return (batch * 7 + record) % 10;
}
uint8_t pixel_of(int batch, int record, int k) {
  return static_cast<uint8_t>((batch * 31 + record * 17 + k) & 255);
}

// Batch b holds b + 2 records (2, 3, ..., 7: 27 in all, 20 in the training part).
void write_batches(const fs::path& folder) {
  fs::create_directories(folder);
  for (int b = 0; b < 6; ++b) {
    std::ofstream out(folder / kBatches[b], std::ios::binary);
    for (int r = 0; r < b + 2; ++r) {
      out.put(static_cast<char>(label_of(b, r)));
      for (int k = 0; k < 3072; ++k) out.put(static_cast<char>(pixel_of(b, r, k)));
    }
  }
}

TEST(Cifar10Binary, ReadsRecordsClassNamesAndBothLayouts) {
  {
    SCOPED_TRACE("ReadsRecordsInBatchOrder");
    const auto folder = fresh_test_folder("cifar10_binary") / "cifar-10-batches-bin";
    write_batches(folder);
    const auto data = read_cifar10_binary(folder);
    ASSERT_EQ(data.size(), 27);
    EXPECT_EQ(data.test_offset, 20);
    EXPECT_EQ(data.num_classes(), 10);
    EXPECT_FALSE(data.multi_label());
    EXPECT_EQ(data.class_names, cifar10_class_names());
    EXPECT_EQ(data.class_names[1], "automobile");
    EXPECT_EQ(data.images.sizes(), (std::vector<int64_t>{27, 3, 32, 32}));
    EXPECT_TRUE(data.images.is_contiguous());
    int64_t i = 0;
    for (int b = 0; b < 6; ++b) {
      for (int r = 0; r < b + 2; ++r, ++i) {
        EXPECT_EQ(data.sources[static_cast<size_t>(i)],
                  std::string(kBatches[b]) + "#" + std::to_string(r));
        EXPECT_EQ(data.labels[i].argmax().item<int64_t>(), label_of(b, r));
        EXPECT_EQ(data.labels[i].sum().item<int64_t>(), 1);
        // Record byte 1 + k is channel k / 1024, row (k % 1024) / 32, column k % 32.
        for (const int k : {0, 31, 32, 1023, 1024, 2047, 2048, 3071}) {
          EXPECT_EQ(data.images[i][k / 1024][(k % 1024) / 32][k % 32].item<int>(),
                    pixel_of(b, r, k))
              << "image " << i << " byte " << k;
        }
      }
    }
  }
  {
    SCOPED_TRACE("ClassNamesFromMetaFile");
    const auto folder = fresh_test_folder("cifar10_meta") / "cifar-10-batches-bin";
    write_batches(folder);
    std::ofstream(folder / "batches.meta.txt") << "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n";
    EXPECT_EQ(read_cifar10_binary(folder).class_names[9], "j");
  }
  {
    SCOPED_TRACE("DetectsBothBinaryLayouts");
    const auto root = fresh_test_folder("cifar10_detect");
    write_batches(root / "cifar-10-batches-bin");
    const auto from_root = load_cifar10(root);
    const auto from_batches = load_cifar10(root / "cifar-10-batches-bin");
    EXPECT_EQ(from_root.size(), 27);
    EXPECT_EQ(from_root.test_offset, 20);
    EXPECT_TRUE(torch::equal(from_root.images, from_batches.images));
    EXPECT_TRUE(torch::equal(from_root.labels, from_batches.labels));
  }
}

TEST(Cifar10Binary, BadInputIsANamedError) {
  {
    SCOPED_TRACE("BadInputIsANamedError");
    const auto root = fresh_test_folder("cifar10_bad");
    expect_error([&] { read_cifar10_binary(root / "nothing"); }, {"nothing", "does not exist"});

    const auto folder = root / "cifar-10-batches-bin";
    write_batches(folder);
    fs::resize_file(folder / "data_batch_3.bin", 3073 * 2 + 100);
    expect_error([&] { read_cifar10_binary(folder); },
                 {"data_batch_3.bin", "6246 bytes", "3073-byte records"});

    write_batches(folder);
    fs::remove(folder / "test_batch.bin");
    expect_error([&] { read_cifar10_binary(folder); }, {"test_batch.bin", "missing"});

    write_batches(folder);
    {
      std::fstream f(folder / "data_batch_2.bin", std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(3073);  // the label byte of record 1
      f.put(static_cast<char>(10));
    }
    expect_error([&] { read_cifar10_binary(folder); },
                 {"data_batch_2.bin", "record 1", "label 10"});
  }
  {
    SCOPED_TRACE("UnknownLayoutOrMissingFolderIsANamedError");
    const auto root = fresh_test_folder("cifar10_unknown");
    fs::create_directories(root / "train");  // no test/ beside it
    expect_error([&] { load_cifar10(root); }, {root.string(), "cifar-10-batches-bin", "train/"});
    expect_error([&] { load_cifar10(root / "absent"); }, {"absent", "does not exist"});
  }
}

}  // namespace
}  // namespace greedyhash
