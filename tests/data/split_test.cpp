#include "greedyhash/data/split.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "greedyhash/data/image_dataset.h"
#include "greedyhash/error.h"
#include "test_support.h"

namespace greedyhash {
namespace {

// CIFAR-like labels: `per_class` images of each of 10 classes, classes interleaved the
// way a shuffled data set would have them (class of i = (3 i + i / 10) mod 10).
at::Tensor interleaved_labels(int64_t per_class) {
  std::vector<int64_t> ids;
  for (int64_t i = 0; i < 10 * per_class; ++i) ids.push_back((3 * i + i / 10) % 10);
  return one_hot_labels(ids, 10);
}

std::vector<int64_t> class_of(const at::Tensor& labels) {
  const auto ids = labels.argmax(1);
  return std::vector<int64_t>(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
}

std::vector<int64_t> set_union(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<int64_t> intersection(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  std::vector<int64_t> out;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

std::vector<int64_t> all_indices(int64_t n) {
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) out[static_cast<size_t>(i)] = i;
  return out;
}

void expect_per_class(const std::vector<int64_t>& list, const std::vector<int64_t>& classes,
                      int64_t expected) {
  std::vector<int64_t> counts(10, 0);
  for (const auto i : list) ++counts[static_cast<size_t>(classes[static_cast<size_t>(i)])];
  for (int c = 0; c < 10; ++c) EXPECT_EQ(counts[static_cast<size_t>(c)], expected) << "class " << c;
}

TEST(Split, CifarProtocolsCountsDisjointnessAndDatabase) {
  {
    SCOPED_TRACE("ProtocolNamesRoundTrip");
    for (const auto protocol : {SplitProtocol::Cifar10_1, SplitProtocol::Cifar10_2,
                                SplitProtocol::Cifar10, SplitProtocol::Lists}) {
      EXPECT_EQ(parse_split_protocol(split_protocol_name(protocol)), protocol);
    }
    EXPECT_EQ(split_protocol_name(SplitProtocol::Cifar10_1), "cifar10-1");
    EXPECT_EQ(split_protocol_name(SplitProtocol::Cifar10_2), "cifar10-2");
    EXPECT_EQ(split_protocol_name(SplitProtocol::Cifar10), "cifar10");
    EXPECT_THROW(parse_split_protocol("cifar10-3"), Error);
  }
  {
    SCOPED_TRACE("Cifar10_1CountsDisjointnessAndDatabase");
    const auto labels = interleaved_labels(6000);  // the real data's 60,000 images
    const auto classes = class_of(labels);
    const auto split = make_cifar_split(labels, SplitProtocol::Cifar10_1, 2000);
    EXPECT_EQ(split.protocol, SplitProtocol::Cifar10_1);
    EXPECT_EQ(split.seed, 2000u);
    EXPECT_EQ(split.query.size(), 1000u);
    EXPECT_EQ(split.train.size(), 5000u);
    EXPECT_EQ(split.database.size(), 59000u);
    expect_per_class(split.query, classes, 100);
    expect_per_class(split.train, classes, 500);
    for (const auto* list : {&split.query, &split.train, &split.database}) {
      EXPECT_TRUE(std::is_sorted(list->begin(), list->end()));
      EXPECT_EQ(std::adjacent_find(list->begin(), list->end()), list->end());
    }
    EXPECT_TRUE(intersection(split.query, split.train).empty());
    EXPECT_TRUE(intersection(split.query, split.database).empty());
    // Database = everything but the queries, so it contains train.
    EXPECT_EQ(set_union(split.query, split.database), all_indices(60000));
    EXPECT_EQ(intersection(split.train, split.database), split.train);
  }
  {
    SCOPED_TRACE("Cifar10ExcludesTrainFromTheDatabase");
    const auto labels = interleaved_labels(6000);
    const auto split = make_cifar_split(labels, SplitProtocol::Cifar10, 5);
    EXPECT_EQ(split.database.size(), 54000u);
    EXPECT_TRUE(intersection(split.train, split.database).empty());
    EXPECT_EQ(set_union(set_union(split.query, split.train), split.database), all_indices(60000));
    // Same seed and counts as cifar10-1: same query and train.
    const auto first = make_cifar_split(labels, SplitProtocol::Cifar10_1, 5);
    EXPECT_EQ(split.query, first.query);
    EXPECT_EQ(split.train, first.train);
  }
  {
    SCOPED_TRACE("Cifar10_2UsesTheWholeClassAndDatabaseIsTrain");
    const auto labels = interleaved_labels(6000);
    const auto classes = class_of(labels);
    const auto split = make_cifar_split(labels, SplitProtocol::Cifar10_2, 11);
    EXPECT_EQ(split.query.size(), 10000u);
    EXPECT_EQ(split.train.size(), 50000u);
    expect_per_class(split.query, classes, 1000);
    EXPECT_EQ(split.database, split.train);
    EXPECT_EQ(set_union(split.query, split.train), all_indices(60000));
  }
}

TEST(Split, DeterministicAndMatchesTheIndependentReference) {
  {
    SCOPED_TRACE("DeterministicAndSeedDependent");
    const auto labels = interleaved_labels(700);
    const auto a = make_cifar_split(labels, SplitProtocol::Cifar10_1, 42);
    const auto b = make_cifar_split(labels, SplitProtocol::Cifar10_1, 42);
    const auto c = make_cifar_split(labels, SplitProtocol::Cifar10_1, 43);
    EXPECT_EQ(a.query, b.query);
    EXPECT_EQ(a.train, b.train);
    EXPECT_EQ(a.database, b.database);
    EXPECT_NE(a.query, c.query);
  }
  {
    SCOPED_TRACE("MatchesTheIndependentReferenceForFixedSeeds");
    std::ifstream in(std::string(GREEDYHASH_TEST_DATA_DIR) + "/fixtures/seeded_reference.json");
    const auto ref = nlohmann::json::parse(in);
    const auto ids = ref["split_classes"].get<std::vector<int64_t>>();
    const auto labels = one_hot_labels(ids, 3);
    const PerClassCounts counts{ref["split_query_per_class"].get<int64_t>(),
                                ref["split_train_per_class"].get<int64_t>()};
    for (const auto& [key, seed] : {std::pair<std::string, uint64_t>{"split_seed2000", 2000},
                                    std::pair<std::string, uint64_t>{"split_seed7", 7}}) {
      const auto& expected = ref[key];
      for (const auto protocol :
           {SplitProtocol::Cifar10_1, SplitProtocol::Cifar10_2, SplitProtocol::Cifar10}) {
        const auto split = make_per_class_split(labels, protocol, seed, counts);
        EXPECT_EQ(split.query, expected["query"].get<std::vector<int64_t>>()) << key;
        EXPECT_EQ(split.train, expected["train"].get<std::vector<int64_t>>()) << key;
        EXPECT_EQ(split.database,
                  expected["database_" + split_protocol_name(protocol)].get<std::vector<int64_t>>())
            << key << " " << split_protocol_name(protocol);
        EXPECT_EQ(
            draw_validation(split, labels, ref["validation_per_class"].get<int64_t>(), seed),
            expected["validation_" + split_protocol_name(protocol)].get<std::vector<int64_t>>())
            << key << " " << split_protocol_name(protocol);
      }
    }
  }
}

// CIFAR-10 (I)-like: validation queries come from the database images outside the train
// list, per class, and leave every other list as it was.
TEST(Split, ValidationIsDrawnPerClassFromTheDatabaseOnlyImages) {
  const auto labels = interleaved_labels(60);
  const PerClassCounts counts{5, 10};
  const Split split = make_per_class_split(labels, SplitProtocol::Cifar10_1, 3, counts);
  const auto validation = draw_validation(split, labels, 4, 3);
  ASSERT_EQ(validation.size(), 40u);
  EXPECT_TRUE(std::is_sorted(validation.begin(), validation.end()));
  EXPECT_TRUE(intersection(validation, set_union(split.query, split.train)).empty());
  EXPECT_EQ(intersection(validation, split.database), validation) << "inside the database";
  const auto classes = class_of(labels);
  for (int64_t c = 0; c < 10; ++c) {
    EXPECT_EQ(std::count_if(validation.begin(), validation.end(),
                            [&](int64_t i) { return classes[static_cast<size_t>(i)] == c; }),
              4)
        << "class " << c;
  }
  EXPECT_EQ(draw_validation(split, labels, 4, 3), validation) << "deterministic";
  EXPECT_NE(draw_validation(split, labels, 4, 4), validation) << "seeded";
  EXPECT_TRUE(draw_validation(split, labels, 0, 3).empty());
  // CIFAR-10 (II): the database is the train list, so the validation queries come from
  // the images outside every list.
  const Split two = make_per_class_split(labels, SplitProtocol::Cifar10_2, 3, counts);
  const auto outside = draw_validation(two, labels, 4, 3);
  ASSERT_EQ(outside.size(), 40u);
  EXPECT_TRUE(intersection(outside, set_union(two.database, two.query)).empty());
  // Too few candidates in a class: a named error with the fix.
  expect_error([&] { draw_validation(split, labels, 46, 3); },
               {"46 images of class 0", "--val-per-class"});
}

// Multi-label data (list files): per_class x C candidates drawn from all of them.
TEST(Split, ValidationOfMultiLabelDataIsDrawnFromThePool) {
  std::vector<int64_t> ids(40);
  for (int64_t i = 0; i < 40; ++i) ids[static_cast<size_t>(i)] = i % 4;
  auto labels = one_hot_labels(ids, 4);
  labels[20][1] = 1;  // one candidate with two labels makes the set multi-label
  Split split;
  split.protocol = SplitProtocol::Lists;
  split.query = {0, 1, 2, 3};
  split.train = {4, 5, 6, 7, 8, 9, 10, 11};
  for (int64_t i = 4; i < 40; ++i) split.database.push_back(i);
  const auto validation = draw_validation(split, labels, 2, 9);
  ASSERT_EQ(validation.size(), 8u);
  for (const int64_t i : validation) EXPECT_GE(i, 12) << "from database minus train";
  expect_error([&] { draw_validation(split, labels, 8, 9); }, {"32 images", "28"});
}

// Validation queries are ranked against the database without themselves, thinned evenly.
TEST(Split, RetrievalListsForTestAndValidation) {
  Split split;
  split.query = {0, 1};
  split.database = {2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  split.validation = {4, 9};
  const auto test = test_retrieval(split);
  EXPECT_EQ(test.queries, split.query);
  EXPECT_EQ(test.database, split.database);
  const auto all = validation_retrieval(split, 0);
  EXPECT_EQ(all.queries, split.validation);
  EXPECT_EQ(all.database, (std::vector<int64_t>{2, 3, 5, 6, 7, 8, 10, 11}));
  // 8 left, 3 kept: rest[floor(i * 8 / 3)] for i = 0, 1, 2 -> positions 0, 2, 5.
  EXPECT_EQ(validation_retrieval(split, 3).database, (std::vector<int64_t>{2, 5, 8}));
  EXPECT_EQ(validation_retrieval(split, 8).database, all.database);
  EXPECT_EQ(evenly_spaced({10, 20, 30, 40}, 2), (std::vector<int64_t>{10, 30}));
}

TEST(Split, BadInputIsANamedError) {
  {
    SCOPED_TRACE("RefusesASplitLargerThanTheData");
    const auto labels = interleaved_labels(599);  // cifar10-1 needs 600 per class
    try {
      make_cifar_split(labels, SplitProtocol::Cifar10_1, 1);
      FAIL() << "expected greedyhash::Error";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("600 images per class"), std::string::npos) << message;
      EXPECT_NE(message.find("has only 599"), std::string::npos) << message;
      EXPECT_EQ(message.find('\n'), std::string::npos);
    }
    EXPECT_THROW(make_cifar_split(interleaved_labels(5999), SplitProtocol::Cifar10_2, 1), Error);
  }
  {
    SCOPED_TRACE("RefusesMultiLabelData");
    auto labels = interleaved_labels(700);
    labels[3][9] = 1;
    labels[3][0] = 1;
    try {
      make_cifar_split(labels, SplitProtocol::Cifar10_1, 1);
      FAIL() << "expected greedyhash::Error";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("image 3"), std::string::npos) << e.what();
    }
  }
  {
    SCOPED_TRACE("CheckSplitFitsNamesTheListAndIndex");
    Split split;
    split.query = {0, 5};
    split.train = {1};
    split.database = {2, 10};
    EXPECT_NO_THROW(check_split_fits(split, 11, "x"));
    try {
      check_split_fits(split, 10, "run/split.json");
      FAIL() << "expected greedyhash::Error";
    } catch (const Error& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("run/split.json"), std::string::npos) << message;
      EXPECT_NE(message.find("database index 10"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace greedyhash
