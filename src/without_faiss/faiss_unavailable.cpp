// What the library does where FAISS is missing (GREEDYHASH_WITH_FAISS=OFF, or AUTO without
// libfaiss-dev): the binary index cannot be built, read or searched, so every use of it is
// a one-line error saying how to enable it.
#include "greedyhash/error.h"
#include "greedyhash/index/binary_index.h"

namespace greedyhash {

struct BinaryIndex::Impl {};

namespace {

[[noreturn]] void unavailable() {
  throw Error(faiss_unavailable_message());
}

}  // namespace

bool faiss_available() {
  return false;
}

void require_faiss() {
  unavailable();
}

BinaryIndex::BinaryIndex(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BinaryIndex::BinaryIndex(BinaryIndex&&) noexcept = default;
BinaryIndex& BinaryIndex::operator=(BinaryIndex&&) noexcept = default;
BinaryIndex::~BinaryIndex() = default;

BinaryIndex BinaryIndex::build(const BinaryCodes&, const IndexParams&) {
  unavailable();
}
BinaryIndex BinaryIndex::from_bytes(std::string_view, const std::string&) {
  unavailable();
}
std::string BinaryIndex::to_bytes() const {
  unavailable();
}
int64_t BinaryIndex::size() const {
  unavailable();
}
int BinaryIndex::padded_bits() const {
  unavailable();
}
IndexType BinaryIndex::type() const {
  unavailable();
}
int64_t BinaryIndex::nlist() const {
  unavailable();
}
int64_t BinaryIndex::nprobe() const {
  unavailable();
}
void BinaryIndex::set_nprobe(int64_t) {
  unavailable();
}
SearchHits BinaryIndex::search(const BinaryCodes&, int64_t) const {
  unavailable();
}

}  // namespace greedyhash
