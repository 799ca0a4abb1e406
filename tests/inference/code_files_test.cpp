#include "greedyhash/inference/code_files.h"

#include <gtest/gtest.h>

#include <torch/torch.h>
#include "test_support.h"

#include <filesystem>
#include <string>

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// Fixtures written by numpy's np.save: see tests/data/retrieval/make_fixtures.py.
const fs::path kData = fs::path(GREEDYHASH_TEST_DATA_DIR) / "retrieval";

fs::path scratch(const std::string& name) {
  const fs::path folder = test_folder("code_files_test");
  fs::create_directories(folder);
  return folder / name;
}

TEST(CodeFiles, CodeAndLabelFilesMatchNumpy) {
  for (const int bits : {13, 70}) {
    SCOPED_TRACE("bits " + std::to_string(bits));
    const std::string stem = "codes" + std::to_string(bits);
    const BinaryCodes codes = load_codes_pm1_npy(kData / (stem + "_pm1.npy"));
    EXPECT_EQ(codes.bits(), bits);
    save_codes_packed_npy(scratch(stem + "_packed.npy"), codes);
    EXPECT_EQ(read_file_bytes(scratch(stem + "_packed.npy")),
              read_file_bytes(kData / (stem + "_packed.npy")));
    save_codes_pm1_npy(scratch(stem + "_pm1.npy"), codes);
    EXPECT_EQ(read_file_bytes(scratch(stem + "_pm1.npy")),
              read_file_bytes(kData / (stem + "_pm1.npy")));
    const BinaryCodes packed = load_codes_packed_npy(kData / (stem + "_packed.npy"), bits);
    EXPECT_TRUE(torch::equal(packed.to_pm1(), codes.to_pm1()));
  }
  save_labels_npy(scratch("labels.npy"),
                  torch::tensor({{1, 0, 0}, {0, 1, 1}, {0, 0, 0}, {1, 1, 1}}, torch::kInt64));
  EXPECT_EQ(read_file_bytes(scratch("labels.npy")), read_file_bytes(kData / "labels.npy"));
}

TEST(CodeFiles, ClearErrors) {
  expect_error_containing([] { load_codes_packed_npy(kData / "codes13_packed.npy", 9); },
                          "codes13_packed.npy");
  expect_error_containing(
      [] {
        save_labels_npy(scratch("bad_labels.npy"), torch::tensor({{2, 0}}));
      },
      "entries 0 or 1");
}

}  // namespace
}  // namespace greedyhash
