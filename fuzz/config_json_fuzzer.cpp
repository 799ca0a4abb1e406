// A run's config file (--config): parsing, keys and their ranges.
#include "fuzz_target.h"
#include "greedyhash/io/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace greedyhash;
  static const fuzz::InputFile input("config.json");
  const auto& file = input.write(data, size);
  fuzz::expect_value_or_error(file.string(), [&] {
    const Config config = load_config(file);
    validate_config(config, "config file " + file.string());
  });
  return 0;
}
