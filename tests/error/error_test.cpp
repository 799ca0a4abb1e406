#include "greedyhash/error.h"

#include <gtest/gtest.h>

#include <string>

namespace greedyhash {
namespace {

TEST(Error, QuotedControlCharactersKeepTheMessageOnOnePrintableLine) {
  // What a damaged file may hand a message to quote: a newline, a carriage return, a
  // terminal escape, DEL. UTF-8 (a file name with accents) stays as it is.
  const Error error("f.npy: unsupported dtype '|i\n\r\x1b[2J\x7f' in caf\xc3\xa9.npy");
  EXPECT_EQ(std::string(error.what()), "f.npy: unsupported dtype '|i???[2J?' in caf\xc3\xa9.npy");
}

TEST(Error, FirstLineDropsWhatFollowsTheFirstNewline) {
  EXPECT_EQ(first_line("DefaultCPUAllocator: not enough memory\nException raised from"),
            "DefaultCPUAllocator: not enough memory");
  EXPECT_EQ(first_line("no newline"), "no newline");
}

}  // namespace
}  // namespace greedyhash
