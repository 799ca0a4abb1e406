#pragma once

#include <filesystem>

namespace greedyhash {

// Turns a data argument into a folder to read from.
//   - A folder is returned as is.
//   - A .tar.gz / .tgz archive is unpacked once (`tar xzf`, in a subprocess) into
//     cache_dir/<archive name without .tar.gz/.tgz>-<first 16 hex digits of its SHA-256>;
//     later calls reuse that folder. Keyed by content, so an archive replaced under the
//     same name is unpacked afresh, and copies of one archive share a folder. Folders of
//     earlier versions stay until deleted. The digest is remembered per (absolute path,
//     size, modification time) in cache_dir/.digests/, so an unchanged archive is hashed
//     once, not on every run (CIFAR-10's 19 MB archive takes 0.1-0.4 s to hash here).
//     The unpack goes to a hidden temporary folder in cache_dir that is renamed into place
//     only when tar succeeded, so an interrupted unpack is never taken for a complete
//     one. The folder returned is the one holding the data: single-folder wrappers
//     (cifar10-jpg/ inside cifar10-jpg.tar.gz) are stepped into.
// A missing path, another kind of file, or a failing tar throws greedyhash::Error.
std::filesystem::path resolve_data_dir(const std::filesystem::path& path,
                                       const std::filesystem::path& cache_dir);

}  // namespace greedyhash
