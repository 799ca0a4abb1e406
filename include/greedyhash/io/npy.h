#pragma once

#include <filesystem>

#include <ATen/core/Tensor.h>

#include "greedyhash/retrieval/binary_codes.h"

namespace greedyhash {

// NumPy .npy files (format 1.0), readable with numpy.load.
//
// save_npy writes a tensor of dtype uint8, int8, int16, int32, int64, float32, float64 or
// bool in C order, little-endian, with the header padded to a multiple of 64 bytes
// exactly as numpy >= 1.24 writes it (so the files are byte-identical to np.save's).
// Non-contiguous and non-CPU tensors are copied first. The file is written through
// write_file_atomically. Errors (greedyhash::Error): other dtypes, write failures.
void save_npy(const std::filesystem::path& path, const at::Tensor& tensor);

// Reads a .npy file of the dtypes above (format 1.0, 2.0 or 3.0) into a CPU tensor.
// Errors (greedyhash::Error, one line naming the file): missing or unreadable file, not an
// .npy file, unsupported dtype or byte order, Fortran order, truncated data.
at::Tensor load_npy(const std::filesystem::path& path);

// Codes as N x ceil(K / 8) uint8 rows in the FAISS / Milvus binary layout
// (BinaryCodes::to_packed_bytes): bit j in byte j / 8, least significant bit first.
void save_codes_packed_npy(const std::filesystem::path& path, const BinaryCodes& codes);
// Reads those back; `bits` is K (the file only stores whole bytes).
BinaryCodes load_codes_packed_npy(const std::filesystem::path& path, int bits);

// Codes as N x K int8 rows of -1/+1.
void save_codes_pm1_npy(const std::filesystem::path& path, const BinaryCodes& codes);
// Reads an N x K file of -1/+1 (or any real values: bit = value >= 0).
BinaryCodes load_codes_pm1_npy(const std::filesystem::path& path);

// Labels as N x C uint8 multi-hot rows; `multi_hot` must hold only 0 and 1.
void save_labels_npy(const std::filesystem::path& path, const at::Tensor& multi_hot);

}  // namespace greedyhash
