#include "greedyhash/serialize/atomic_file.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include <fstream>
#include <sstream>
#include <stdexcept>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

TEST(WriteFileAtomically, CreatesFoldersAndWritesExactBytes) {
  const auto folder = fresh_test_folder("atomic_create");
  const auto path = folder / "a" / "b.bin";
  const std::string bytes("x\0y\n", 4);
  write_file_atomically(path, bytes);
  EXPECT_EQ(read_file_bytes(path), bytes);
  // Only the target is left behind: no temporary files.
  EXPECT_EQ(std::distance(fs::directory_iterator(path.parent_path()), fs::directory_iterator()), 1);
}

TEST(WriteFileAtomically, ReplacesAnExistingFile) {
  const auto path = fresh_test_folder("atomic_replace") / "f.txt";
  write_file_atomically(path, "old contents");
  write_file_atomically(path, "new");
  EXPECT_EQ(read_file_bytes(path), "new");
}

TEST(WriteFileAtomically, FailureLeavesTheOldFileAndNamesThePath) {
  const auto folder = fresh_test_folder("atomic_fail");
  const auto path = folder / "target";
  // A directory in the way makes the final rename fail after the data was written.
  fs::create_directories(path / "occupied");
  try {
    write_file_atomically(path, "data");
    FAIL() << "expected greedyhash::Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path.string()), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_directory(path / "occupied"));
  EXPECT_EQ(std::distance(fs::directory_iterator(folder), fs::directory_iterator()), 1);
}

TEST(WriteFileAtomically, WritesTheProducersPiecesInOrder) {
  const auto path = fresh_test_folder("atomic_pieces") / "f.bin";
  write_file_atomically(path, [](const ByteSink& sink) {
    sink("ab", 2);
    sink("", 0);
    sink("c\0d", 3);
  });
  EXPECT_EQ(read_file_bytes(path), std::string("abc\0d", 5));
}

// A producer that fails half-way (the disk full, a value it cannot write) leaves the old
// file and no temporary file, and its exception reaches the caller unchanged.
TEST(WriteFileAtomically, AProducerThatThrowsLeavesTheOldFile) {
  const auto folder = fresh_test_folder("atomic_producer_throws");
  const auto path = folder / "last.pt";
  write_file_atomically(path, "old");
  EXPECT_THROW(write_file_atomically(path,
                                     [](const ByteSink& sink) {
                                       sink("new, half", 9);
                                       throw std::invalid_argument("cannot write this value");
                                     }),
               std::invalid_argument);
  EXPECT_EQ(read_file_bytes(path), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(folder), fs::directory_iterator()), 1);
}

// What a process killed inside write_file_atomically leaves: its temporary file. Only
// those go; a file a user named like it but without the random suffix stays.
TEST(RemoveStaleTemporaryFiles, RemovesOnlyLeftoverTemporaryFiles) {
  const auto folder = fresh_test_folder("atomic_stale");
  for (const char* name : {".last.pt.tmp-a1B2c3", ".metrics.jsonl.tmp-XyZ789", "last.pt",
                           ".last.pt.tmp-short", "notes.tmp-abcdef"}) {
    std::ofstream(folder / name) << "x";
  }
  EXPECT_EQ(remove_stale_temporary_files(folder), 2);
  for (const char* name : {"last.pt", ".last.pt.tmp-short", "notes.tmp-abcdef"}) {
    EXPECT_TRUE(fs::exists(folder / name)) << name;
  }
  EXPECT_FALSE(fs::exists(folder / ".last.pt.tmp-a1B2c3"));
  EXPECT_EQ(remove_stale_temporary_files(folder / "missing"), 0);
  fs::remove_all(folder);
}

}  // namespace
}  // namespace greedyhash
