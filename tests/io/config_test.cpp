#include "greedyhash/io/config.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

fs::path write_temp(const std::string& name, const std::string& text) {
  const auto path = test_folder("config_" + name);
  std::ofstream(path) << text;
  return path;
}

TEST(Config, PresetsSpellOutThePaperProtocol) {
  // docs/PROTOCOL.md section 1.4: SGD 1e-3, momentum 0.9, wd 5e-4, x0.1 every 30 epochs, 50 epochs,
  // batch 32, alpha 0.1, input 224, seed 2000; eval every 2 epochs (issue 5).
  for (int bit : {12, 24, 32, 48}) {
    const auto path = fs::path(GREEDYHASH_SOURCE_DIR) / "configs" /
                      ("cifar10-1_" + std::to_string(bit) + ".json");
    const Config c = load_config(path);
    EXPECT_EQ(c.bit, bit);
    EXPECT_EQ(c.dataset, "cifar10-1");
    EXPECT_EQ(c.lr, 1e-3);
    EXPECT_EQ(c.momentum, 0.9);
    EXPECT_EQ(c.weight_decay, 5e-4);
    EXPECT_EQ(c.lr_step, 30);
    EXPECT_EQ(c.epochs, 50);
    EXPECT_EQ(c.batch_size, 32);
    EXPECT_EQ(c.alpha, 0.1);
    EXPECT_EQ(c.input_size, 224);
    EXPECT_EQ(c.seed, 2000);
    EXPECT_EQ(c.eval_every, 2);
    // Issue 13: best.pt chosen on 100 validation queries per class, not the test queries.
    EXPECT_EQ(c.val_per_class, 100);
    EXPECT_EQ(c.select, "validation");
    // Issue 12: ImageNet weights from torchvision's cache when the user has them.
    EXPECT_EQ(c.pretrained, "auto");
  }
}

TEST(Config, QuickstartConfigSaysItIsADemo) {
  // Issue 12: one epoch at 64 px on 50,000 training images, from random initialisation.
  const Config c = load_config(fs::path(GREEDYHASH_SOURCE_DIR) / "configs" / "quickstart.json");
  EXPECT_EQ(c.bit, 48);
  EXPECT_EQ(c.epochs, 1);
  EXPECT_EQ(c.input_size, 64);
  EXPECT_EQ(c.lr, 0.01);
  EXPECT_EQ(c.train_per_class, 5000);
  EXPECT_EQ(c.pretrained, "");
  EXPECT_NE(c.comment.find("not the paper's protocol"), std::string::npos) << c.comment;
}

TEST(Config, KeysAreTheFixedInterfaceNames) {
  const std::vector<std::string> expected = {"bit",
                                             "dataset",
                                             "data_dir",
                                             "input_size",
                                             "epochs",
                                             "batch_size",
                                             "lr",
                                             "lr_step",
                                             "momentum",
                                             "weight_decay",
                                             "alpha",
                                             "seed",
                                             "eval_every",
                                             "device",
                                             "threads",
                                             "output_dir",
                                             "backbone",
                                             "freeze_backbone",
                                             "pretrained",
                                             "train_limit",
                                             "query_per_class",
                                             "train_per_class",
                                             "map_topk",
                                             "precision",
                                             "val_per_class",
                                             "val_database_size",
                                             "select",
                                             "image_pipeline",
                                             "image_cache",
                                             "multi_label_loss",
                                             "method",
                                             "features",
                                             "feature_dropout",
                                             "center_features",
                                             "comment"};
  std::vector<std::string> names;
  for (const auto& k : config_keys()) names.push_back(k.name);
  EXPECT_EQ(names, expected);
  EXPECT_EQ(flag_name("weight_decay"), "weight-decay");
}

TEST(Config, UnknownKeyNamesTheKeyAndTheFile) {
  const auto path = write_temp("unknown.json", R"({"bit": 12, "learning_rate": 0.1})");
  const auto message = error_of([&] { load_config(path); });
  EXPECT_NE(message.find("'learning_rate'"), std::string::npos) << message;
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
}

TEST(Config, WrongTypeNamesTheKey) {
  const auto path = write_temp("type.json", R"({"epochs": "fifty"})");
  const auto message = error_of([&] { load_config(path); });
  EXPECT_NE(message.find("'epochs' must be an integer"), std::string::npos) << message;
  // An integer-valued key given a fraction is a type error too.
  EXPECT_FALSE(error_of([&] { load_config(write_temp("frac.json", R"({"bit": 12.5})")); }).empty());
}

TEST(Config, OutOfRangeValuesAreRejected) {
  EXPECT_NE(error_of([&] { load_config(write_temp("bit.json", R"({"bit": 0})")); }).find("'bit'"),
            std::string::npos);
  EXPECT_NE(error_of([&] { load_config(write_temp("lr.json", R"({"lr": -0.1})")); }).find("'lr'"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              load_config(write_temp("ds.json", R"({"dataset": "mnist"})"));
            }).find("'dataset'"),
            std::string::npos);
}

TEST(Config, MalformedJsonAndMissingFileNameTheFile) {
  const auto path = write_temp("bad.json", R"({"bit": 12,)");
  auto message = error_of([&] { load_config(path); });
  EXPECT_NE(message.find("not valid JSON"), std::string::npos) << message;
  EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  message = error_of([&] { load_config("/nonexistent/greedyhash.json"); });
  EXPECT_NE(message.find("/nonexistent/greedyhash.json"), std::string::npos) << message;
}

TEST(Config, FuzzFindingANumberBeyondADoubleIsAnError) {
  // fuzz_config_json found "1e800": the JSON parser throws out_of_range for it, not
  // parse_error, and load_config let that escape (docs/FUZZING.md, finding 3).
  for (const char* text : {"1e800", R"({"lr": 1e800})"}) {
    const auto path = write_temp("huge_number.json", text);
    const auto message = error_of([&] { load_config(path); });
    EXPECT_NE(message.find("config file " + path.string() + " is not valid JSON"),
              std::string::npos)
        << message;
  }
}

TEST(Config, CommandLineValuesAreParsedByType) {
  const auto& keys = config_keys();
  const auto& lr = *std::find_if(keys.begin(), keys.end(), [](auto& k) { return k.name == "lr"; });
  const auto& bit =
      *std::find_if(keys.begin(), keys.end(), [](auto& k) { return k.name == "bit"; });
  EXPECT_EQ(parse_config_value(lr, "1e-3").get<double>(), 1e-3);
  EXPECT_EQ(parse_config_value(bit, "48").get<int64_t>(), 48);
  EXPECT_THROW(parse_config_value(bit, "48x"), Error);
  EXPECT_THROW(parse_config_value(lr, "fast"), Error);
  const auto& freeze =
      *std::find_if(keys.begin(), keys.end(), [](auto& k) { return k.name == "freeze_backbone"; });
  EXPECT_EQ(parse_config_value(freeze, "true"), true);
  EXPECT_EQ(parse_config_value(freeze, "0"), false);
  EXPECT_EQ(error_of([&] { parse_config_value(freeze, "yes"); }),
            "command line: --freeze-backbone must be true or false, got 'yes'");
  // In a config file a switch is a JSON boolean, not a string or a number.
  Config config;
  EXPECT_EQ(error_of([&] {
              apply_config_json(config, {{"freeze_backbone", "true"}}, "f.json");
            }).find("f.json"),
            0u);
}

// Issue 20: the values a hostile user tried, and their neighbours, each refused before any
// work with a one-line error naming the key and its range.
TEST(Config, NumericKeysAreBoundedByWhatTheModelAndMachineTake) {
  const auto message = [](const std::string& key, const nlohmann::json& value) {
    Config config;
    return error_of([&] { apply_config_json(config, {{key, value}}, "command line"); });
  };
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  EXPECT_EQ(max_threads(), 4 * cores);
  for (const int64_t threads : {int64_t{4096}, int64_t{100000}, 4 * cores + 1}) {
    const auto m = message("threads", threads);
    EXPECT_NE(m.find("'threads' must be in 0.." + std::to_string(4 * cores)), std::string::npos)
        << m;
    EXPECT_NE(m.find("per hardware thread"), std::string::npos) << m;
  }
  Config config;
  apply_config_json(config, {{"threads", 4 * cores}}, "command line");  // the bound itself
  EXPECT_NE(message("input_size", 30000).find("'input_size' must be in 63..1024"),
            std::string::npos);
  EXPECT_NE(message("input_size", 1025).find("'input_size'"), std::string::npos);
  apply_config_json(config, {{"input_size", 1024}}, "command line");
  EXPECT_NE(message("batch_size", 65537).find("'batch_size' must be in 1..65536"),
            std::string::npos);
  EXPECT_NE(message("epochs", 100001).find("'epochs'"), std::string::npos);
  EXPECT_NE(message("lr_step", 0).find("'lr_step'"), std::string::npos);
  EXPECT_NE(message("train_limit", int64_t{1} << 41).find("'train_limit'"), std::string::npos);
}

TEST(Config, NotANumberAndInfinityAreRefused) {
  // std::stod reads "nan" and "inf"; every comparison with NaN is false, so a check
  // written as `x < 0` let NaN through.
  const auto& keys = config_keys();
  for (const std::string key : {"lr", "momentum", "weight_decay", "alpha"}) {
    const auto& k = *std::find_if(keys.begin(), keys.end(), [&](auto& c) { return c.name == key; });
    for (const std::string text : {"nan", "inf", "-nan"}) {
      Config config;
      const auto m = error_of([&] {
        apply_config_json(config, {{key, parse_config_value(k, text)}}, "command line");
      });
      EXPECT_NE(m.find("'" + key + "'"), std::string::npos) << key << " = " << text << ": " << m;
    }
  }
}

// One source of truth for each default: the built-in defaults are the paper's protocol,
// which configs/cifar10-1_<bit>.json spell out (a config that omits a key gets the same).
TEST(Config, PresetsAreTheBuiltInDefaults) {
  for (int bit : {12, 24, 32, 48}) {
    const auto path = fs::path(GREEDYHASH_SOURCE_DIR) / "configs" /
                      ("cifar10-1_" + std::to_string(bit) + ".json");
    std::ifstream in(path);
    nlohmann::json preset = nlohmann::json::parse(in);
    preset.erase("comment");
    Config defaults;
    defaults.bit = bit;
    nlohmann::json expected = config_to_json(defaults);
    expected.erase("comment");
    EXPECT_EQ(preset, expected) << path;
  }
  EXPECT_EQ(Config{}.pretrained, "auto");
}

TEST(Config, KeysSayWhichAppsTakeThem) {
  for (const auto& k : config_keys()) {
    EXPECT_TRUE(k.apps & kTrainApp) << k.name << ": greedyhash_train takes every key";
    const bool reader = k.apps & (kEvalApp | kPredictApp | kExportApp | kIndexApp | kSearchApp);
    const bool expected_reader =
        k.name == "bit" || k.name == "output_dir" || k.name == "data_dir" || k.name == "device" ||
        k.name == "threads" || k.name == "precision" || k.name == "map_topk" ||
        k.name == "features" || k.name == "image_cache";
    EXPECT_EQ(reader, expected_reader) << k.name;
  }
}

}  // namespace
}  // namespace greedyhash
