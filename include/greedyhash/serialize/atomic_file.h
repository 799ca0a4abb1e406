#pragma once

#include <filesystem>
#include <string_view>

namespace greedyhash {

// Writes `bytes` to `path` so that readers only ever see the old file or the complete
// new one: the data goes to a temporary file in the same folder (.<name>.tmp-XXXXXX), is
// flushed to disk, renamed over `path`, and the folder is flushed too, so that after a
// power cut `path` holds the old or the new bytes, never a mix or nothing. On failure
// the temporary file is removed, `path` is untouched, and greedyhash::Error names the
// file. Every checkpoint, report and code file the project writes goes through here.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// Deletes the temporary files of write_file_atomically that a killed process left in
// `folder` (a checkpoint's is as large as the checkpoint). Only for a folder that no
// other process is writing (the training run's lock held); returns how many went.
int remove_stale_temporary_files(const std::filesystem::path& folder);

}  // namespace greedyhash
