#include "greedyhash/cli/config_flags.h"

#include <gtest/gtest.h>

#include "test_support.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "greedyhash/error.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

Config parse(std::vector<std::string> args, ConfigBase base = ConfigBase::Preset) {
  CLI::App app;
  ConfigFlags flags;
  add_config_flags(app, flags);
  std::reverse(args.begin(), args.end());  // CLI11 takes a reversed vector
  app.parse(args);
  return resolve_config(flags, base);
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
  const Config c = parse({"--bit", "24", "--output-dir", out.string(), "--device", "cpu"},
                         ConfigBase::RunFolder);
  EXPECT_EQ(c.input_size, 96);  // from the run, not the preset's 224
  EXPECT_EQ(c.epochs, 3);
  EXPECT_EQ(c.device, "cpu");  // flags still win
}

}  // namespace
}  // namespace greedyhash
