// BinaryIndex on FAISS (built with GREEDYHASH_WITH_FAISS; src/without_faiss/ otherwise).
#include "greedyhash/index/binary_index.h"

#include <faiss/IndexBinaryFlat.h>
#include <faiss/IndexBinaryIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <algorithm>
#include <cstring>

#include "greedyhash/error.h"

namespace greedyhash {

struct BinaryIndex::Impl {
  std::unique_ptr<faiss::IndexBinary> index;
  // Exactly one of these points into `index`.
  faiss::IndexBinaryFlat* flat = nullptr;
  faiss::IndexBinaryIVF* ivf = nullptr;
};

namespace {

// The rows back to back, bytes_per_code() bytes each (BinaryCodes keeps whole words).
std::vector<uint8_t> packed_rows(const BinaryCodes& codes) {
  const auto bytes = static_cast<size_t>(codes.bytes_per_code());
  std::vector<uint8_t> out(static_cast<size_t>(codes.size()) * bytes);
  for (int64_t i = 0; i < codes.size(); ++i) {
    std::memcpy(out.data() + static_cast<size_t>(i) * bytes, codes.row_bytes(i), bytes);
  }
  return out;
}

// `params` with the IVF defaults filled in, checked against the number of codes.
IndexParams resolved(IndexParams params, int64_t num_codes) {
  if (params.type == IndexType::Flat) return params;
  if (params.nlist <= 0) params.nlist = default_nlist(num_codes);
  if (params.nlist > num_codes) {
    throw Error("--nlist " + std::to_string(params.nlist) + " is more than the " +
                std::to_string(num_codes) + " codes indexed; k-means needs at least one code " +
                "per cell (about 39 for good cells)");
  }
  if (params.nprobe <= 0) params.nprobe = default_nprobe(params.nlist);
  if (params.nprobe > params.nlist) {
    throw Error("--nprobe " + std::to_string(params.nprobe) + " is more than --nlist " +
                std::to_string(params.nlist) + "; a query can visit at most all cells");
  }
  return params;
}

std::unique_ptr<faiss::IndexBinary> make_index(int dimension, const IndexParams& params) {
  if (params.type == IndexType::Flat) return std::make_unique<faiss::IndexBinaryFlat>(dimension);
  auto index = std::make_unique<faiss::IndexBinaryIVF>(
      new faiss::IndexBinaryFlat(dimension), dimension, static_cast<size_t>(params.nlist));
  index->own_fields = true;
  index->nprobe = static_cast<size_t>(params.nprobe);
  return index;
}

}  // namespace

bool faiss_available() {
  return true;
}

void require_faiss() {}

BinaryIndex::BinaryIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->flat = dynamic_cast<faiss::IndexBinaryFlat*>(impl_->index.get());
  impl_->ivf = dynamic_cast<faiss::IndexBinaryIVF*>(impl_->index.get());
}
BinaryIndex::BinaryIndex(BinaryIndex&&) noexcept = default;
BinaryIndex& BinaryIndex::operator=(BinaryIndex&&) noexcept = default;
BinaryIndex::~BinaryIndex() = default;

BinaryIndex BinaryIndex::build(const BinaryCodes& codes, const IndexParams& params) {
  if (codes.size() == 0) throw Error("nothing to index: the collection has no images");
  auto impl = std::make_unique<Impl>();
  impl->index = make_index(greedyhash::padded_bits(codes.bits()), resolved(params, codes.size()));
  const std::vector<uint8_t> rows = packed_rows(codes);
  impl->index->train(codes.size(), rows.data());  // IVF: k-means; flat: nothing to learn
  impl->index->add(codes.size(), rows.data());
  return BinaryIndex(std::move(impl));
}

BinaryIndex BinaryIndex::from_bytes(std::string_view bytes, const std::string& name) {
  faiss::VectorIOReader reader;
  reader.data.assign(bytes.begin(), bytes.end());
  auto impl = std::make_unique<Impl>();
  try {
    impl->index.reset(faiss::read_index_binary(&reader));
  } catch (const faiss::FaissException& e) {
    throw Error(name + " is not a FAISS binary index (" +
                std::string(e.what()).substr(0, std::string(e.what()).find('\n')) +
                "); rebuild it with greedyhash_index");
  }
  BinaryIndex index(std::move(impl));
  if (index.impl_->flat == nullptr && index.impl_->ivf == nullptr) {
    throw Error(name + " holds a FAISS binary index of another kind than IndexBinaryFlat or " +
                "IndexBinaryIVF; rebuild it with greedyhash_index");
  }
  return index;
}

std::string BinaryIndex::to_bytes() const {
  faiss::VectorIOWriter writer;
  faiss::write_index_binary(impl_->index.get(), &writer);
  return std::string(writer.data.begin(), writer.data.end());
}

int64_t BinaryIndex::size() const {
  return impl_->index->ntotal;
}

int BinaryIndex::padded_bits() const {
  return impl_->index->d;
}

IndexType BinaryIndex::type() const {
  return impl_->ivf != nullptr ? IndexType::Ivf : IndexType::Flat;
}

int64_t BinaryIndex::nlist() const {
  return impl_->ivf != nullptr ? static_cast<int64_t>(impl_->ivf->nlist) : 0;
}

int64_t BinaryIndex::nprobe() const {
  return impl_->ivf != nullptr ? static_cast<int64_t>(impl_->ivf->nprobe) : 0;
}

void BinaryIndex::set_nprobe(int64_t nprobe) {
  if (impl_->ivf == nullptr) throw Error("--nprobe applies to IVF indexes only, not flat ones");
  if (nprobe < 1 || nprobe > nlist()) {
    throw Error("--nprobe must be 1.." + std::to_string(nlist()) + " (the index's nlist), got " +
                std::to_string(nprobe));
  }
  impl_->ivf->nprobe = static_cast<size_t>(nprobe);
}

SearchHits BinaryIndex::search(const BinaryCodes& queries, int64_t k) const {
  if (greedyhash::padded_bits(queries.bits()) != padded_bits()) {
    throw Error("query codes of " + std::to_string(queries.bits()) +
                " bits do not fit an index of " + std::to_string(padded_bits()) +
                "-bit codes; use the model the index was built with");
  }
  if (k < 1) throw Error("top-k must be at least 1, got " + std::to_string(k));
  SearchHits hits;
  hits.k = std::min(k, size());
  const auto cells = static_cast<size_t>(queries.size() * hits.k);
  hits.distances.resize(cells);
  hits.ids.resize(cells);
  if (cells == 0) return hits;
  const std::vector<uint8_t> rows = packed_rows(queries);
  impl_->index->search(queries.size(), rows.data(), hits.k, hits.distances.data(), hits.ids.data());
  return hits;
}

}  // namespace greedyhash
