#include "greedyhash/data/data_dir.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include <cstdlib>
#include <fstream>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

// An archive holding top/train/c/a.txt and top/test/c/b.txt, like cifar10-jpg.tar.gz.
fs::path make_archive(const fs::path& folder, const std::string& name) {
  const auto content = folder / "content";
  fs::create_directories(content / "top" / "train" / "c");
  fs::create_directories(content / "top" / "test" / "c");
  std::ofstream(content / "top" / "train" / "c" / "a.txt") << "a";
  std::ofstream(content / "top" / "test" / "c" / "b.txt") << "b";
  const auto archive = folder / name;
  const std::string command =
      "tar czf '" + archive.string() + "' -C '" + content.string() + "' top";
  EXPECT_EQ(std::system(command.c_str()), 0);
  return archive;
}

size_t entries(const fs::path& folder) {
  return static_cast<size_t>(
      std::distance(fs::directory_iterator(folder), fs::directory_iterator()));
}

TEST(ResolveDataDir, FolderAsIsArchiveUnpackedOnce) {
  {
    SCOPED_TRACE("FolderIsReturnedAsIs");
    const auto folder = fresh_test_folder("data_dir_plain");
    EXPECT_EQ(resolve_data_dir(folder, folder / "cache"), folder);
    EXPECT_FALSE(fs::exists(folder / "cache"));
  }
  {
    SCOPED_TRACE("UnpacksOnceAndStepsIntoTheWrapperFolder");
    const auto folder = fresh_test_folder("data_dir_unpack");
    const auto archive = make_archive(folder, "set.tar.gz");
    const auto cache = folder / "cache";
    const auto resolved = resolve_data_dir(archive, cache);
    EXPECT_EQ(resolved, cache / "set" / "top");
    EXPECT_TRUE(fs::exists(resolved / "train" / "c" / "a.txt"));
    EXPECT_EQ(entries(cache), 1u);  // no temporary folder left behind

    // A second call reuses the folder: a marker written into it survives.
    std::ofstream(resolved / "marker") << "kept";
    EXPECT_EQ(resolve_data_dir(archive, cache), resolved);
    EXPECT_TRUE(fs::exists(resolved / "marker"));

    // .tgz works the same way.
    fs::copy_file(archive, folder / "other.tgz");
    EXPECT_EQ(resolve_data_dir(folder / "other.tgz", cache), cache / "other" / "top");
  }
  {
    SCOPED_TRACE("LeftoversOfAnInterruptedUnpackAreIgnored");
    const auto folder = fresh_test_folder("data_dir_interrupted");
    const auto archive = make_archive(folder, "set.tar.gz");
    const auto cache = folder / "cache";
    // What an unpack killed half-way leaves: a hidden partial folder, no cache/set.
    fs::create_directories(cache / ".set.partial-abc123" / "top" / "train");
    const auto resolved = resolve_data_dir(archive, cache);
    EXPECT_EQ(resolved, cache / "set" / "top");
    EXPECT_TRUE(fs::exists(resolved / "test" / "c" / "b.txt"));
  }
}

TEST(ResolveDataDir, BadInputIsANamedError) {
  const auto folder = fresh_test_folder("data_dir_bad");
  const auto cache = folder / "cache";
  expect_error([&] { resolve_data_dir(folder / "absent.tar.gz", cache); },
               {"absent.tar.gz", "does not exist"});
  std::ofstream(folder / "notes.txt") << "x";
  expect_error([&] { resolve_data_dir(folder / "notes.txt", cache); },
               {"notes.txt", "not a .tar.gz"});
  std::ofstream(folder / "broken.tar.gz") << "not gzip data at all";
  expect_error([&] { resolve_data_dir(folder / "broken.tar.gz", cache); },
               {"broken.tar.gz", "tar exited", "gzip"});
  EXPECT_FALSE(fs::exists(cache / "broken"));
  EXPECT_EQ(entries(cache), 0u);
}

}  // namespace
}  // namespace greedyhash
