#pragma once

#include <cstdint>
#include <string>

#include <CLI/CLI.hpp>

namespace greedyhash {

// The query of greedyhash_predict and greedyhash_search: a test image of the run's data
// set (--pic_id) or an image file (--image), one of the two.
struct QueryFlags {
  int64_t pic_id = -1;
  std::string image;
};

void add_query_flags(CLI::App& app, QueryFlags& flags);

// greedyhash::Error "nothing to <what>: pass --pic_id N ... or --image FILE" when neither
// was given.
void require_query(const QueryFlags& flags, const std::string& what);

}  // namespace greedyhash
