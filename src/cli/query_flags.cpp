#include "greedyhash/cli/query_flags.h"

#include "greedyhash/error.h"

namespace greedyhash {

void add_query_flags(CLI::App& app, QueryFlags& flags) {
  auto* pic = app.add_option("--pic_id,--pic-id", flags.pic_id, "index of a test image (from 0)");
  auto* image = app.add_option("--image", flags.image, "an image file (JPEG, PNG, ...)");
  pic->excludes(image);
}

void require_query(const QueryFlags& flags, const std::string& what) {
  if (flags.pic_id < 0 && flags.image.empty()) {
    throw Error("nothing to " + what + ": pass --pic_id N (a test image) or --image FILE");
  }
}

}  // namespace greedyhash
