#include "greedyhash/data/data_dir.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include <chrono>
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

// Entries of a cache folder besides .digests/ (where archive digests are remembered).
size_t entries(const fs::path& folder) {
  size_t count = 0;
  for (const auto& entry : fs::directory_iterator(folder)) {
    count += entry.path().filename() != ".digests";
  }
  return count;
}

// The cache folder name of an archive: <stem>-<first 16 hex digits of its SHA-256>, the
// digest as coreutils' sha256sum computes it.
std::string keyed(const std::string& stem, const fs::path& archive) {
  const fs::path out = archive.string() + ".sha256";
  const std::string command = "sha256sum '" + archive.string() + "' > '" + out.string() + "'";
  EXPECT_EQ(std::system(command.c_str()), 0);
  return stem + "-" + read_file_bytes(out).substr(0, 16);
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
    EXPECT_EQ(resolved, cache / keyed("set", archive) / "top");
    EXPECT_TRUE(fs::exists(resolved / "train" / "c" / "a.txt"));
    EXPECT_EQ(entries(cache), 1u);  // no temporary folder left behind

    // A second call reuses the folder: a marker written into it survives.
    std::ofstream(resolved / "marker") << "kept";
    EXPECT_EQ(resolve_data_dir(archive, cache), resolved);
    EXPECT_TRUE(fs::exists(resolved / "marker"));

    // .tgz works the same way.
    fs::copy_file(archive, folder / "other.tgz");
    EXPECT_EQ(resolve_data_dir(folder / "other.tgz", cache),
              cache / keyed("other", folder / "other.tgz") / "top");
  }
  {
    SCOPED_TRACE("LeftoversOfAnInterruptedUnpackAreIgnored");
    const auto folder = fresh_test_folder("data_dir_interrupted");
    const auto archive = make_archive(folder, "set.tar.gz");
    const auto cache = folder / "cache";
    // What an unpack killed half-way leaves: a hidden partial folder, no cache/set.
    fs::create_directories(cache / ".set.partial-abc123" / "top" / "train");
    const auto resolved = resolve_data_dir(archive, cache);
    EXPECT_EQ(resolved, cache / keyed("set", archive) / "top");
    EXPECT_TRUE(fs::exists(resolved / "test" / "c" / "b.txt"));
  }
}

TEST(ResolveDataDir, CacheIsKeyedByTheArchivesContent) {
  const auto folder = fresh_test_folder("data_dir_content");
  const auto cache = folder / "cache";
  const auto archive = make_archive(folder, "set.tar.gz");
  const auto first = resolve_data_dir(archive, cache);
  EXPECT_EQ(read_file_bytes(first / "train" / "c" / "a.txt"), "a");

  {
    SCOPED_TRACE("AnArchiveReplacedUnderTheSameNameIsUnpackedAfresh");
    const auto old_time = fs::last_write_time(archive);
    fs::remove_all(folder / "content");
    fs::remove(archive);
    fs::create_directories(folder / "content" / "top" / "train" / "c");
    fs::create_directories(folder / "content" / "top" / "test" / "c");
    std::ofstream(folder / "content" / "top" / "train" / "c" / "a.txt") << "changed";
    std::ofstream(folder / "content" / "top" / "test" / "c" / "b.txt") << "b";
    ASSERT_EQ(std::system(("tar czf '" + archive.string() + "' -C '" +
                           (folder / "content").string() + "' top")
                              .c_str()),
              0);
    // As a later copy would have it, even where the clock is coarser than the two writes.
    fs::last_write_time(archive, old_time + std::chrono::seconds(1));
    const auto second = resolve_data_dir(archive, cache);
    EXPECT_EQ(second, cache / keyed("set", archive) / "top");
    EXPECT_NE(second, first);
    EXPECT_EQ(read_file_bytes(second / "train" / "c" / "a.txt"), "changed");
  }
  {
    SCOPED_TRACE("TheSameContentWithANewTimeReusesTheFolder");
    const auto before = resolve_data_dir(archive, cache);
    std::ofstream(before / "marker") << "kept";
    fs::last_write_time(archive, fs::last_write_time(archive) + std::chrono::hours(1));
    EXPECT_EQ(resolve_data_dir(archive, cache), before);
    EXPECT_TRUE(fs::exists(before / "marker"));
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
