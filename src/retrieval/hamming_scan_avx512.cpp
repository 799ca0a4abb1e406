#include "hamming_scan_avx512.h"

#include "greedyhash/retrieval/retrieval_metrics.h"

#include <algorithm>
#include <cstdlib>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
// GCC 12 reports its own intrinsics, which start from an undefined register, as
// maybe-uninitialized once they are inlined into a function with a target attribute.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>
#define GREEDYHASH_AVX512_SCAN 1
#define GREEDYHASH_TARGET_AVX512 \
  __attribute__((target("avx2,avx512f,avx512bw,avx512vbmi,avx512vpopcntdq,bmi,bmi2,popcnt")))
#else
#define GREEDYHASH_AVX512_SCAN 0
#endif

namespace greedyhash::detail {

namespace {

constexpr int64_t kChunk = 64;

#if GREEDYHASH_AVX512_SCAN

// Distances of the 64 items at `codes` to the query, one byte each.
GREEDYHASH_TARGET_AVX512 inline __m512i chunk_distances(const uint64_t* codes, __m512i query) {
  __m128i bytes[8];
  for (int j = 0; j < 8; ++j) {
    const __m512i words = _mm512_loadu_si512(codes + 8 * j);
    bytes[j] = _mm512_cvtepi64_epi8(_mm512_popcnt_epi64(_mm512_xor_si512(words, query)));
  }
  __m512i out = _mm512_castsi128_si512(_mm_unpacklo_epi64(bytes[0], bytes[1]));
  out = _mm512_inserti32x4(out, _mm_unpacklo_epi64(bytes[2], bytes[3]), 1);
  out = _mm512_inserti32x4(out, _mm_unpacklo_epi64(bytes[4], bytes[5]), 2);
  return _mm512_inserti32x4(out, _mm_unpacklo_epi64(bytes[6], bytes[7]), 3);
}

// Smallest of the 64 bytes.
GREEDYHASH_TARGET_AVX512 inline int smallest_byte(__m512i v) {
  __m256i a = _mm256_min_epu8(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
  __m128i b = _mm_min_epu8(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
  b = _mm_min_epu8(b, _mm_srli_si128(b, 8));
  b = _mm_min_epu8(b, _mm_srli_si128(b, 4));
  b = _mm_min_epu8(b, _mm_srli_si128(b, 2));
  b = _mm_min_epu8(b, _mm_srli_si128(b, 1));
  return _mm_cvtsi128_si32(b) & 0xFF;
}

// Largest of the 64 bytes: the complement of the smallest complement.
GREEDYHASH_TARGET_AVX512 inline int largest_byte(__m512i v) {
  return 0xFF - smallest_byte(_mm512_xor_si512(v, _mm512_set1_epi8(static_cast<char>(0xFF))));
}

// 64 database items as the scan sees them.
struct Chunk {
  __m512i distance;   // to the query, one byte per item; 0xFF (no code's) for padding
  uint64_t valid;     // items that exist
  uint64_t relevant;  // items relevant to the query
};

GREEDYHASH_TARGET_AVX512 inline Chunk load_chunk(const VectorScanDatabase& db, int64_t c,
                                                 __m512i query, __m512i relevance_table) {
  Chunk chunk;
  const int64_t count = std::clamp<int64_t>(db.size - c * kChunk, 0, kChunk);
  chunk.valid = _bzhi_u64(~uint64_t{0}, static_cast<unsigned>(count));
  chunk.distance = _mm512_mask_mov_epi8(_mm512_set1_epi8(static_cast<char>(0xFF)), chunk.valid,
                                        chunk_distances(db.codes.data() + c * kChunk, query));
  const __m512i sets = _mm512_loadu_si512(db.label_sets.data() + c * kChunk);
  const __m512i relevance = _mm512_permutexvar_epi8(sets, relevance_table);
  chunk.relevant = _mm512_test_epi8_mask(relevance, relevance) & chunk.valid;
  return chunk;
}

GREEDYHASH_TARGET_AVX512 inline uint64_t equal_to(__m512i distance, unsigned d) {
  return _mm512_cmpeq_epi8_mask(distance, _mm512_set1_epi8(static_cast<char>(d)));
}

// Chunks go in pairs: the running count of a distance is read and written once per 128
// items, and the pair's smallest to largest distance bounds the counting loop.
template <bool kHits>
GREEDYHASH_TARGET_AVX512 void scan_chunks(const VectorScanDatabase& db, uint64_t query_code,
                                          const bool* relevant_set, int bits, QueryScan& scan) {
  const int groups = bits + 1;
  uint32_t running[65] = {};
  uint32_t relevant[65] = {};
  alignas(64) uint8_t table[64] = {};
  for (int u = 0; u < kVectorScanMaxLabelSets; ++u) table[u] = relevant_set[u] ? 0xFF : 0;
  const __m512i relevance_table = _mm512_load_si512(table);
  const __m512i query = _mm512_set1_epi64(static_cast<long long>(query_code));
  const __m512i one = _mm512_set1_epi8(1);
  RelevantHit* hit = scan.hits.get();
  alignas(64) uint8_t distance_of[2][64];

  const int64_t chunks = (db.size + kChunk - 1) / kChunk;
  for (int64_t c = 0; c < chunks; c += 2) {
    const Chunk first = load_chunk(db, c, query, relevance_table);
    const Chunk second = load_chunk(db, c + 1, query, relevance_table);

    if constexpr (kHits) {
      _mm512_store_si512(distance_of[0], first.distance);
      _mm512_store_si512(distance_of[1], second.distance);
      for (uint64_t items = first.relevant; items != 0; items = _blsr_u64(items)) {
        const unsigned i = static_cast<unsigned>(__builtin_ctzll(items));
        const unsigned d = distance_of[0][i];
        const uint64_t before = __builtin_popcountll(_bzhi_u64(equal_to(first.distance, d), i));
        *hit++ = make_hit(running[d] + static_cast<uint32_t>(before), d);
      }
      for (uint64_t items = second.relevant; items != 0; items = _blsr_u64(items)) {
        const unsigned i = static_cast<unsigned>(__builtin_ctzll(items));
        const unsigned d = distance_of[1][i];
        const uint64_t before = __builtin_popcountll(equal_to(first.distance, d)) +
                                __builtin_popcountll(_bzhi_u64(equal_to(second.distance, d), i));
        *hit++ = make_hit(running[d] + static_cast<uint32_t>(before), d);
      }
    }
    const int low = smallest_byte(_mm512_min_epu8(first.distance, second.distance));
    const int high = std::min(
        largest_byte(_mm512_max_epu8(_mm512_maskz_mov_epi8(first.valid, first.distance),
                                     _mm512_maskz_mov_epi8(second.valid, second.distance))),
        groups - 1);
    __m512i d_vector = _mm512_set1_epi8(static_cast<char>(low));
    for (int d = low; d <= high; ++d) {
      const uint64_t a = _mm512_cmpeq_epi8_mask(first.distance, d_vector);
      const uint64_t b = _mm512_cmpeq_epi8_mask(second.distance, d_vector);
      running[d] += static_cast<uint32_t>(__builtin_popcountll(a) + __builtin_popcountll(b));
      if constexpr (!kHits) {
        relevant[d] += static_cast<uint32_t>(__builtin_popcountll(a & first.relevant) +
                                             __builtin_popcountll(b & second.relevant));
      }
      d_vector = _mm512_add_epi8(d_vector, one);
    }
  }

  std::copy(running, running + groups, scan.items_at.begin());
  if constexpr (kHits) {
    scan.num_hits = hit - scan.hits.get();
    std::fill(scan.relevant_at.begin(), scan.relevant_at.end(), 0u);
    for (int64_t k = 0; k < scan.num_hits; ++k) ++scan.relevant_at[hit_distance(scan.hits[k])];
  } else {
    scan.num_hits = 0;
    std::copy(relevant, relevant + groups, scan.relevant_at.begin());
  }
}

#endif

}  // namespace

bool vector_scan_applies(const LabeledCodes& database) {
  return cpu_has_avx512_scan() && database.codes().words_per_code() == 1 &&
         database.labels().num_distinct_sets() <= kVectorScanMaxLabelSets &&
         std::getenv("GREEDYHASH_PORTABLE_SCAN") == nullptr;
}

VectorScanDatabase make_vector_scan_database(const LabeledCodes& database) {
  VectorScanDatabase out;
  out.size = database.size();
  // Whole pairs of chunks.
  const size_t padded =
      static_cast<size_t>((out.size + 2 * kChunk - 1) / (2 * kChunk) * 2 * kChunk);
  out.codes.assign(padded, 0);
  out.label_sets.assign(padded, 0);
  std::copy(database.codes().data(), database.codes().data() + out.size, out.codes.begin());
  const std::vector<uint32_t>& sets = database.labels().set_indices();
  std::transform(sets.begin(), sets.end(), out.label_sets.begin(),
                 [](uint32_t u) { return static_cast<uint8_t>(u); });
  return out;
}

void scan_one_query_avx512(const VectorScanDatabase& database, uint64_t query_code,
                           const bool* relevant_set, int bits, bool record_hits, QueryScan& scan) {
#if GREEDYHASH_AVX512_SCAN
  if (record_hits) {
    scan_chunks<true>(database, query_code, relevant_set, bits, scan);
  } else {
    scan_chunks<false>(database, query_code, relevant_set, bits, scan);
  }
#else
  (void)database, (void)query_code, (void)relevant_set, (void)bits, (void)record_hits, (void)scan;
#endif
}

}  // namespace greedyhash::detail

namespace greedyhash {

bool cpu_has_avx512_scan() {
#if GREEDYHASH_AVX512_SCAN
  __builtin_cpu_init();
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f") &&
                          __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vbmi") &&
                          __builtin_cpu_supports("avx512vpopcntdq") &&
                          __builtin_cpu_supports("bmi2") && __builtin_cpu_supports("popcnt");
  return has;
#else
  return false;
#endif
}

}  // namespace greedyhash
