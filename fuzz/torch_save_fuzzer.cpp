// The torch.save reader, both containers (the first bytes choose: "PK\x03\x04" zip,
// "\x80\x02\x8a\x0a" legacy), with and without tensor data.
#include <string_view>

#include "fuzz_target.h"
#include "torch_save_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace greedyhash;
  const std::string name = "fuzz.pt";
  const auto source =
      detail::ByteSource::of_memory({reinterpret_cast<const char*>(data), size}, name);
  for (const auto mode : {TensorData::kLoad, TensorData::kShapesOnly}) {
    fuzz::expect_value_or_error(name, [&] { detail::read_torch_save_dict(source, mode); });
  }
  return 0;
}
