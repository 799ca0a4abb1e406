#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "greedyhash/retrieval/binary_codes.h"

namespace greedyhash {

// FAISS is optional (GREEDYHASH_WITH_FAISS). Without it every BinaryIndex operation throws
// greedyhash::Error carrying faiss_unavailable_message().
bool faiss_available();
// One line: which package to install and which CMake option to set.
std::string faiss_unavailable_message();
// Throws greedyhash::Error(faiss_unavailable_message()) in a build without FAISS.
void require_faiss();

enum class IndexType {
  // IndexBinaryFlat: exhaustive, exact.
  Flat,
  // IndexBinaryIVF over an IndexBinaryFlat quantiser: the codes are split into `nlist`
  // cells by k-means (trained on the codes being indexed) and a query scans only the
  // `nprobe` cells nearest to it. Approximate; worth it for millions of codes.
  Ivf,
};

// "flat" / "ivf".
std::string index_type_name(IndexType type);
// The inverse; anything else is a one-line error naming `flag`.
IndexType parse_index_type(const std::string& name, const std::string& flag = "--index-type");

struct IndexParams {
  IndexType type = IndexType::Flat;
  int64_t nlist = 0;   // IVF cells; 0 = default_nlist(number of codes)
  int64_t nprobe = 0;  // IVF cells visited per query; 0 = default_nprobe(nlist)
};

// sqrt(N) rounded, at most N / 39 (FAISS's k-means wants 39 training points per cell),
// at least 1.
int64_t default_nlist(int64_t num_codes);
// nlist / 16, at least 1 and at most nlist (docs/PERFORMANCE.md: recall against nprobe).
int64_t default_nprobe(int64_t nlist);

// Bits per code inside a FAISS binary index: FAISS stores whole bytes, so a code length
// K that is not a multiple of 8 (12 bits) is padded with zero bits up to 8 * ceil(K / 8).
// Queries are padded the same way, so every Hamming distance is unchanged.
int padded_bits(int bits);

// The answer to a batch of queries: row q holds query q's `k` nearest codes by ascending
// Hamming distance. Where the index returns fewer (an IVF probe that reaches fewer than k
// codes), the row ends with id -1.
struct SearchHits {
  int64_t k = 0;
  std::vector<int32_t> distances;  // queries x k
  std::vector<int64_t> ids;        // queries x k, positions of the codes in the index
};

// A FAISS binary index of BinaryCodes, in BinaryCodes' byte layout (which is FAISS's).
class BinaryIndex {
 public:
  // Indexes `codes` (at least one). IVF first trains its quantiser on them.
  static BinaryIndex build(const BinaryCodes& codes, const IndexParams& params);
  // FAISS's own serialisation (what faiss::write_index_binary writes, and
  // faiss.read_index_binary reads). A corrupt or foreign file is a greedyhash::Error
  // naming `name`.
  static BinaryIndex from_bytes(std::string_view bytes, const std::string& name);
  std::string to_bytes() const;

  BinaryIndex(BinaryIndex&&) noexcept;
  BinaryIndex& operator=(BinaryIndex&&) noexcept;
  ~BinaryIndex();

  int64_t size() const;
  // The index's dimension: padded_bits of the code length.
  int padded_bits() const;
  IndexType type() const;
  int64_t nlist() const;   // 0 for Flat
  int64_t nprobe() const;  // 0 for Flat
  // IVF only; 1..nlist.
  void set_nprobe(int64_t nprobe);

  // The k nearest codes to every query (k >= 1; at most size() are returned per row).
  // Queries must pad to this index's dimension. Flat: exact, ties by ascending position,
  // the order hamming_ranking gives.
  SearchHits search(const BinaryCodes& queries, int64_t k) const;

 private:
  struct Impl;
  explicit BinaryIndex(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace greedyhash
