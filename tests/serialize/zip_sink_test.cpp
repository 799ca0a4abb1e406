#include "greedyhash/serialize/zip_sink.h"

#include <caffe2/serialize/inline_container.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "greedyhash/error.h"
#include "test_support.h"

namespace greedyhash {
namespace {

// Records of odd sizes, so that the zip writer pads between them.
void write_records(caffe2::serialize::PyTorchStreamWriter& writer) {
  const std::vector<char> big(100003, 'x');
  writer.writeRecord("a", "abc", 3);
  writer.writeRecord("data/0", big.data(), big.size());
  writer.writeRecord("b", "z", 1);
  writer.writeEndOfFile();
}

// The reference is LibTorch writing the same records to a file by itself.
TEST(WriteZipToSink, GivesTheBytesLibTorchWritesToAFile) {
  // Named "archive", the record prefix the function writer uses.
  const auto file = fresh_test_folder("zip_sink") / "archive.zip";
  {
    caffe2::serialize::PyTorchStreamWriter writer(file.string());
    write_records(writer);
  }
  std::string bytes;
  write_zip_to_sink([&](const char* data, size_t size) { bytes.append(data, size); },
                    [](const ZipWriterFunction& function) {
                      caffe2::serialize::PyTorchStreamWriter writer(function);
                      write_records(writer);
                    });
  EXPECT_EQ(bytes, read_file_bytes(file));
}

TEST(WriteZipToSink, TheSinksErrorReachesTheCaller) {
  size_t taken = 0;
  const ByteSink full_disk = [&](const char*, size_t size) {
    if (taken + size > 50000) throw Error("out.pt: no space left on device");
    taken += size;
  };
  try {
    write_zip_to_sink(full_disk, [](const ZipWriterFunction& function) {
      caffe2::serialize::PyTorchStreamWriter writer(function);
      write_records(writer);
    });
    FAIL() << "expected greedyhash::Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "out.pt: no space left on device");
  }
}

}  // namespace
}  // namespace greedyhash
