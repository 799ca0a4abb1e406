#include "greedyhash/cli/config_flags.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

Config parse(std::vector<std::string> args, ConfigApp app_id = kTrainApp) {
  CLI::App app;
  ConfigFlags flags;
  add_config_flags(app, flags, app_id);
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  app.parse(args);
  return resolve_config(flags);
}

TEST(ConfigFlags, BitAlonePicksItsPreset) {
  const Config c = parse({"--bit", "12"});
  EXPECT_EQ(c.bit, 12);
  EXPECT_EQ(c.epochs, 50);
}

TEST(ConfigFlags, FlagsOverrideThePreset) {
  const Config c = parse({"--bit", "48", "--epochs", "1", "--input-size", "64", "--data-dir",
                          "/tmp/x", "--lr", "0.01"});
  EXPECT_EQ(c.bit, 48);
  EXPECT_EQ(c.epochs, 1);
  EXPECT_EQ(c.input_size, 64);
  EXPECT_EQ(c.data_dir, "/tmp/x");
  EXPECT_EQ(c.lr, 0.01);
}

TEST(ConfigFlags, BadFlagValuesAreOneLineErrors) {
  EXPECT_THROW(parse({"--epochs", "three"}), Error);
  EXPECT_THROW(parse({"--bit", "2000"}), Error);
  EXPECT_THROW(parse({"--bit", "20"}), Error);  // no preset for 20 bits without --config
}

TEST(ConfigFlags, RunFolderConfigIsTheBaseForEvaluation) {
  const auto out = test_folder("flags_run");
  fs::remove_all(out);
  fs::create_directories(out / "bit_24");
  std::ofstream(out / "bit_24" / "config.json")
      << R"({"bit": 24, "input_size": 96, "epochs": 3, "output_dir": ")" << out.string() << "\"}";
  const Config c =
      parse({"--bit", "24", "--output-dir", out.string(), "--device", "cpu"}, kEvalApp);
  EXPECT_EQ(c.input_size, 96);  // from the run, not the preset's 224
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.device, "cpu");  // flags still win
}

// Issue 20: a read-only app refuses a training flag with a one-line error instead of
// ignoring it, and its --help lists only what it takes.
TEST(ConfigFlags, ReadOnlyAppsRefuseTrainingKeys) {
  for (const std::string flag : {"--lr", "--epochs", "--batch-size", "--pretrained"}) {
    const auto message = error_of([&] { parse({flag, "5"}, kEvalApp); });
    EXPECT_NE(message.find(flag + " is a setting greedyhash_eval does not take"), std::string::npos)
        << message;
  }
  expect_error([] { parse({"--device", "cpu"}, kExportApp); }, {"--device", "greedyhash_export"});
  EXPECT_EQ(parse({"--map-topk", "100", "--bit", "12"}, kEvalApp).map_topk, 100);
}

TEST(ConfigFlags, HelpListsOnlyTheAppsKeysAndTheDefaultConfig) {
  const auto help = [](ConfigApp app_id) {
    CLI::App app;
    ConfigFlags flags;
    add_config_flags(app, flags, app_id);
    return app.help();
  };
  const std::string eval = help(kEvalApp);
  for (const char* shown : {"--bit", "--output-dir", "--data-dir", "--device", "--threads",
                            "--precision", "--map-topk", "--config"}) {
    EXPECT_NE(eval.find(shown), std::string::npos) << shown << " in:\n" << eval;
  }
  for (const char* hidden : {"--lr", "--epochs", "--seed", "--pretrained", "--select"}) {
    EXPECT_EQ(eval.find(hidden), std::string::npos) << hidden << " in:\n" << eval;
  }
  EXPECT_NE(eval.find(config_default_description(ConfigBase::RunFolder)), std::string::npos)
      << eval;
  const std::string train = help(kTrainApp);
  EXPECT_NE(train.find("--lr"), std::string::npos);
  EXPECT_NE(train.find("default: configs/cifar10-1_<bit>.json; with --resume, the run's "
                       "config.json"),
            std::string::npos)
      << train;
  EXPECT_EQ(help(kExportApp).find("--device"), std::string::npos);
}

}  // namespace
}  // namespace greedyhash
