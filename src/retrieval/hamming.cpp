#include "greedyhash/retrieval/hamming.h"

#include <string>

#include "greedyhash/error.h"
#include "popcount.h"

namespace greedyhash {

namespace detail {

bool cpu_has_popcnt() {
#if GREEDYHASH_POPCNT_DISPATCH
  static const bool has = __builtin_cpu_supports("popcnt");
  return has;
#else
  return false;
#endif
}

}  // namespace detail

namespace {

void check_same_bits(const BinaryCodes& queries, int64_t query, const BinaryCodes& database) {
  if (queries.bits() != database.bits()) {
    throw Error("query codes have " + std::to_string(queries.bits()) +
                " bits but database codes have " + std::to_string(database.bits()));
  }
  if (query < 0 || query >= queries.size()) {
    throw Error("query index " + std::to_string(query) + " is out of range 0.." +
                std::to_string(queries.size() - 1));
  }
}

template <int kWords>
GREEDYHASH_ALWAYS_INLINE void distances_kernel(const uint64_t* query, const BinaryCodes& database,
                                               int32_t* out) {
  const int words = database.words_per_code();
  const uint64_t* codes = database.data();
  for (int64_t i = 0; i < database.size(); ++i) {
    out[i] = detail::code_distance<kWords>(query, codes + i * words, words);
  }
}

GREEDYHASH_TARGET_POPCNT void distances_popcnt(const uint64_t* query, const BinaryCodes& database,
                                               int32_t* out) {
  if (database.words_per_code() == 1) {
    distances_kernel<1>(query, database, out);
  } else {
    distances_kernel<0>(query, database, out);
  }
}

void distances_portable(const uint64_t* query, const BinaryCodes& database, int32_t* out) {
  if (database.words_per_code() == 1) {
    distances_kernel<1>(query, database, out);
  } else {
    distances_kernel<0>(query, database, out);
  }
}

}  // namespace

int hamming_distance(const BinaryCodes& a, int64_t i, const BinaryCodes& b, int64_t j) {
  check_same_bits(a, i, b);
  if (j < 0 || j >= b.size()) {
    throw Error("code index " + std::to_string(j) + " is out of range 0.." +
                std::to_string(b.size() - 1));
  }
  return detail::code_distance<0>(a.row(i), b.row(j), a.words_per_code());
}

std::vector<int32_t> hamming_distances(const BinaryCodes& queries, int64_t query,
                                       const BinaryCodes& database) {
  check_same_bits(queries, query, database);
  std::vector<int32_t> out(static_cast<size_t>(database.size()));
  if (detail::cpu_has_popcnt()) {
    distances_popcnt(queries.row(query), database, out.data());
  } else {
    distances_portable(queries.row(query), database, out.data());
  }
  return out;
}

std::vector<int64_t> hamming_ranking(const BinaryCodes& queries, int64_t query,
                                     const BinaryCodes& database) {
  const std::vector<int32_t> distances = hamming_distances(queries, query, database);
  // Counting sort: start[d] = number of items closer than d; filling in index order keeps
  // ties in ascending index order.
  std::vector<int64_t> start(static_cast<size_t>(database.bits()) + 2, 0);
  for (const int32_t d : distances) ++start[static_cast<size_t>(d) + 1];
  for (size_t d = 1; d < start.size(); ++d) start[d] += start[d - 1];
  std::vector<int64_t> order(distances.size());
  for (size_t i = 0; i < distances.size(); ++i) {
    order[static_cast<size_t>(start[static_cast<size_t>(distances[i])]++)] =
        static_cast<int64_t>(i);
  }
  return order;
}

}  // namespace greedyhash
