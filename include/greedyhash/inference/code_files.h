#pragma once

// Binary codes and labels as NumPy .npy files (io/npy.h), in the layouts numpy, FAISS and
// the saved evaluation codes use.

#include <filesystem>

#include <ATen/core/Tensor.h>

#include "greedyhash/retrieval/binary_codes.h"

namespace greedyhash {

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
