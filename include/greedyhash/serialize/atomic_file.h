#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <string_view>

namespace greedyhash {

// Writes `bytes` to `path` so that readers only ever see the old file or the complete
// new one: the data goes to a temporary file in the same folder (.<name>.tmp-XXXXXX), is
// flushed to disk, renamed over `path`, and the folder is flushed too, so that after a
// power cut `path` holds the old or the new bytes, never a mix or nothing. On failure
// the temporary file is removed, `path` is untouched, and greedyhash::Error names the
// file. Every checkpoint, report and code file the project writes goes through here.
void write_file_atomically(const std::filesystem::path& path, std::string_view bytes);

// Takes the bytes of a file being written, in order, a piece at a time.
using ByteSink = std::function<void(const char* data, size_t size)>;

// The same, with the bytes handed to the sink by `produce` as it makes them, so that a
// large file (a checkpoint: twice the model's size with its resume state) never exists
// whole in memory. What `produce` throws removes the temporary file and is rethrown.
void write_file_atomically(const std::filesystem::path& path,
                           const std::function<void(const ByteSink&)>& produce);

// Deletes the temporary files of write_file_atomically that a killed process left in
// `folder` (a checkpoint's is as large as the checkpoint). Only for a folder that no
// other process is writing (the training run's lock held); returns how many went.
int remove_stale_temporary_files(const std::filesystem::path& folder);

}  // namespace greedyhash
