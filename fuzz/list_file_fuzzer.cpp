// A list file (--dataset list): class count from the first line, and a given one.
#include "fuzz_target.h"
#include "greedyhash/data/list_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace greedyhash;
  static const fuzz::InputFile input("train.txt");
  const auto& file = input.write(data, size);
  fuzz::expect_value_or_error(file.string(), [&] { parse_list_file(file); });
  fuzz::expect_value_or_error(file.string(), [&] { parse_list_file(file, 10); });
  return 0;
}
