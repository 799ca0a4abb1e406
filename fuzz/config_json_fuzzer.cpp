// A run's config file (--config): parsing, keys and their ranges.
#include "fuzz_target.h"
#include "greedyhash/io/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace greedyhash;
  const auto file = fuzz::input_file(data, size, "config.json");
  fuzz::expect_value_or_error(file.string(), [&] {
    const Config config = load_config(file);
    validate_config(config, "config file " + file.string());
  });
  return 0;
}
