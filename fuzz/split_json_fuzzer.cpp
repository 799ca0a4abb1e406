// A run's split.json, as evaluation reads it back for a data set of 40 images (the seeds'
// fingerprint: the lists are only read for the data they were made for).
#include "fuzz_target.h"
#include "greedyhash/data/split_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace greedyhash;
  static const fuzz::InputFile input("split.json");
  const auto& file = input.write(data, size);
  const DatasetFingerprint fingerprint{40, "0123456789abcdef"};
  fuzz::expect_value_or_error(file.string(), [&] { load_split(file, fingerprint); });
  return 0;
}
