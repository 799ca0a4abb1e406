#include "greedyhash/inference/evaluation.h"

#include <gtest/gtest.h>

namespace greedyhash {
namespace {

RetrievalReport report_with(double map, double tie_aware) {
  RetrievalReport report;
  report.map.map = map;
  MeanAveragePrecision expected;
  expected.map = tie_aware;
  report.map_tie_aware = expected;
  return report;
}

// docs/PROTOCOL.md section 3.4: a class-ordered database gives codes that are all alike an mAP of
// 0.18-0.19 against a tie-aware 0.10; reports must say so, and stay quiet when the two
// agree within 0.02.
TEST(TieDependenceNote, SpeaksOnlyWhenTheGapExceedsTwoHundredths) {
  const std::string note = tie_dependence_note(report_with(0.1765, 0.1012));
  EXPECT_NE(note.find("0.1765"), std::string::npos) << note;
  EXPECT_NE(note.find("0.1012"), std::string::npos) << note;
  EXPECT_NE(note.find("not the model"), std::string::npos) << note;
  EXPECT_EQ(note.find('\n'), std::string::npos);
  EXPECT_EQ(tie_dependence_note(report_with(0.815, 0.8)), "");
  EXPECT_EQ(tie_dependence_note(report_with(0.8, 0.819)), "") << "the gap is 0.019 only";
  EXPECT_NE(tie_dependence_note(report_with(0.8, 0.83)), "") << "either direction";
  // With a cut-off the @K values are compared.
  RetrievalReport at_k = report_with(0.5, 0.5);
  MeanAveragePrecision tie_aware_at_k;
  tie_aware_at_k.map = 0.4;
  at_k.map_tie_aware_top_k = tie_aware_at_k;
  EXPECT_NE(tie_dependence_note(at_k), "");
}

}  // namespace
}  // namespace greedyhash
