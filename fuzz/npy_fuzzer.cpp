// The .npy reader, and the code files read through it.
#include "fuzz_target.h"
#include "greedyhash/inference/code_files.h"
#include "greedyhash/io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace greedyhash;
  static const fuzz::InputFile input("codes.npy");
  const auto& file = input.write(data, size);
  fuzz::expect_value_or_error(file.string(), [&] { load_npy(file); });
  fuzz::expect_value_or_error(file.string(), [&] { load_codes_pm1_npy(file); });
  fuzz::expect_value_or_error(file.string(), [&] { load_codes_packed_npy(file, 12); });
  return 0;
}
