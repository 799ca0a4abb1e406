// FAISS's own Python bindings read the index files we write, and their search agrees with a
// brute-force Hamming reference computed in numpy from the +-1 codes.
#include <gtest/gtest.h>

#include "greedyhash/index/index_files.h"
#include "greedyhash/inference/code_files.h"
#include "greedyhash/io/npy.h"
#include "index/index_test_support.h"
#include "test_support.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// argv: index file, database codes (+-1 .npy), query codes (+-1 .npy), k, exact (1/0).
const char* kCheck = R"(
import sys
import faiss, numpy as np
index_file, database_file, query_file, k, exact = sys.argv[1:6]
k, exact = int(k), exact == "1"
index = faiss.read_index_binary(index_file)
db = np.load(database_file) > 0
q = np.load(query_file) > 0
bits = db.shape[1]
padded = (bits + 7) // 8 * 8
assert index.d == padded, (index.d, padded)
assert index.ntotal == db.shape[0], (index.ntotal, db.shape)
# Our own packing: bit j in byte j // 8 at bit j % 8, zero padding (numpy pads with zeros).
pack = lambda b: np.packbits(b, axis=1, bitorder="little")
stored = faiss.downcast_IndexBinary(index)
if isinstance(stored, faiss.IndexBinaryFlat):
    xb = faiss.vector_to_array(stored.xb).reshape(index.ntotal, padded // 8)
    assert (xb == pack(db)).all(), "stored codes differ from the +-1 codes packed with zero padding"
D, I = index.search(pack(q), k)
brute = (q[:, None, :] != db[None, :, :]).sum(-1)
expected = np.sort(brute, axis=1)[:, :k]
found = I >= 0
if exact:
    assert found.all()
    assert (D == expected).all(), (D, expected)
for row in range(len(q)):
    ids = I[row][found[row]]
    assert (D[row][found[row]] == brute[row, ids]).all(), "a distance is not its item's"
print("OK", index.d, index.ntotal)
)";

TEST(FaissPython, ReadsOurIndexAndAgreesWithBruteForce) {
  GREEDYHASH_REQUIRE_FAISS();
  if (!python_has_modules("faiss numpy")) {
    GTEST_SKIP() << "/usr/bin/python3 lacks faiss or numpy (Debian: python3-faiss python3-numpy)";
  }
  const auto folder = fresh_test_folder("faiss_python");
  struct Case {
    int bits;
    IndexParams params;
    bool exact;
  };
  for (const Case& c :
       {Case{12, {IndexType::Flat, 0, 0}, true}, Case{48, {IndexType::Flat, 0, 0}, true},
        Case{70, {IndexType::Flat, 0, 0}, true},
        Case{12, {IndexType::Ivf, 4, 4}, true},  // every cell: exact
        Case{48, {IndexType::Ivf, 8, 2}, false}}) {
    const std::string name = std::to_string(c.bits) + "_" + index_type_name(c.params.type) + "_" +
                             std::to_string(c.params.nprobe);
    SCOPED_TRACE(name);
    const auto database = random_codes(500, c.bits, 31 + c.bits);
    const auto queries = random_codes(25, c.bits, 77 + c.bits);
    const fs::path file = folder / (name + ".faiss");
    IndexManifest manifest;
    manifest.bits = c.bits;
    manifest.collection = "images";
    for (int64_t i = 0; i < database.size(); ++i) manifest.items.push_back(std::to_string(i));
    write_index_files(file, BinaryIndex::build(database, c.params), manifest);
    save_codes_pm1_npy(folder / "database.npy", database);
    save_codes_pm1_npy(folder / "queries.npy", queries);
    std::string output;
    const int status =
        run_python(folder, kCheck,
                   file.string() + " " + (folder / "database.npy").string() + " " +
                       (folder / "queries.npy").string() + " 10 " + (c.exact ? "1" : "0"),
                   output);
    EXPECT_EQ(status, 0) << output;
    EXPECT_NE(output.find("OK " + std::to_string((c.bits + 7) / 8 * 8) + " 500"), std::string::npos)
        << output;
  }
}

}  // namespace
}  // namespace greedyhash
