#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "greedyhash/error.h"

namespace greedyhash::test_support {

// Runs `call` and checks that it throws greedyhash::Error with a one-line message that
// contains `text`.
inline void expect_error_containing(const std::function<void()>& call, const std::string& text) {
  try {
    call();
    ADD_FAILURE() << "expected greedyhash::Error containing '" << text << "'";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(text), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "not one line: " << message;
  }
}

}  // namespace greedyhash::test_support
