#pragma once

#include <filesystem>
#include <string_view>

namespace greedyhash {

// Writes `bytes` to `path` so that readers only ever see the old file or the complete
// new one: the data goes to a temporary file in the same folder, is flushed to disk,
// and is then renamed over `path`. On failure the temporary file is removed, `path` is
// untouched, and greedyhash::Error names the file. Every checkpoint, report and code
// file the project writes goes through here.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

}  // namespace greedyhash
