#include "greedyhash/report/progress.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace greedyhash {
namespace {

TEST(FormatDuration, MinutesAndHours) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(62.4), "1:02");
  EXPECT_EQ(format_duration(3723), "1:02:03");
  EXPECT_EQ(format_duration(-1), "?");
}

TEST(Progress, PlainLinesEveryNStepsWhenNotATerminal) {
  testing::internal::CaptureStdout();
  {
    Progress progress("train", 5, 2);
    for (int64_t step = 1; step <= 5; ++step) progress.update(step, step * 32, "loss 1.0");
  }
  const std::string out = testing::internal::GetCapturedStdout();
  // Steps 2 and 4, then the final line; stdout is a pipe under ctest.
  EXPECT_NE(out.find("train 2/5"), std::string::npos) << out;
  EXPECT_NE(out.find("train 4/5"), std::string::npos) << out;
  EXPECT_NE(out.find("train 5/5"), std::string::npos) << out;
  EXPECT_EQ(out.find("train 3/5"), std::string::npos) << out;
  EXPECT_NE(out.find("loss 1.0"), std::string::npos) << out;
  EXPECT_NE(out.find("took"), std::string::npos) << out;
}

// due() says beforehand what update() will do, so that callers can skip computing notes
// that would not be printed.
TEST(Progress, DueMatchesWhatUpdatePrints) {
  testing::internal::CaptureStdout();
  std::vector<bool> due;
  {
    Progress progress("encode", 5, 2);
    for (int64_t step = 1; step <= 5; ++step) {
      due.push_back(progress.due(step));
      progress.update(step, step);
    }
  }
  const std::string out = testing::internal::GetCapturedStdout();
  EXPECT_EQ(due, (std::vector<bool>{false, true, false, true, false}))
      << "the last step is printed by finish(), not by update()";
  // update() printed exactly the steps due() announced, and finish() the last one.
  for (int64_t step = 1; step <= 4; ++step) {
    const bool printed = out.find("encode " + std::to_string(step) + "/5") != std::string::npos;
    EXPECT_EQ(printed, due[static_cast<size_t>(step - 1)]) << "step " << step << ":\n" << out;
  }
  EXPECT_NE(out.find("encode 5/5"), std::string::npos) << out;
}

}  // namespace
}  // namespace greedyhash
