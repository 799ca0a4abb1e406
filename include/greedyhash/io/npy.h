#pragma once

#include <filesystem>

#include <ATen/core/Tensor.h>

namespace greedyhash {

// NumPy .npy files (format 1.0), readable with numpy.load.
//
// save_npy writes a tensor of dtype uint8, int8, int16, int32, int64, float16, float32,
// float64 or bool in C order, little-endian, with the header padded to a multiple of 64 bytes
// exactly as numpy >= 1.24 writes it (so the files are byte-identical to np.save's).
// Non-contiguous and non-CPU tensors are copied first. The file is written through
// write_file_atomically. Errors (greedyhash::Error): other dtypes, write failures.
void save_npy(const std::filesystem::path& path, const at::Tensor& tensor);

// Reads a .npy file of the dtypes above (format 1.0, 2.0 or 3.0) into a CPU tensor.
// Errors (greedyhash::Error, one line naming the file): missing or unreadable file, not an
// .npy file, unsupported dtype or byte order, Fortran order, truncated data.
at::Tensor load_npy(const std::filesystem::path& path);

}  // namespace greedyhash
