// End-to-end: the executables as a user runs them, on a tiny CIFAR-like image folder
// (3 classes, 10 training + 4 test PNGs each, 32 x 32) at input size 64.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <torch/script.h>
#include <torch/torch.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <random>
#include <thread>

#include "greedyhash/io/npy.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/retrieval/labeled_codes.h"
#include "greedyhash/retrieval/retrieval_metrics.h"
#include "greedyhash/serialize/state_dict.h"
#include "greedyhash/train/checkpoint.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

const fs::path kWork = GREEDYHASH_E2E_WORK_DIR;
const fs::path kData = kWork / "data";
const fs::path kOut = kWork / "out";
const fs::path kRun = kOut / "bit_12";
const std::array<std::string, 3> kClasses = {"cat", "dog", "ship"};

struct Result {
  int status;
  std::string output;
};

std::string bin(const std::string& app) {
  return std::string(GREEDYHASH_BIN_DIR) + "/" + app;
}

Result run(const std::string& command) {
  Result result{-1, ""};
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return result;
  std::array<char, 4096> buffer{};
  while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr) {
    result.output += buffer.data();
  }
  const int status = ::pclose(pipe);
  result.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Every image of class c is a flat colour near a class-specific hue plus noise, so a
// few SGD steps can learn something.
void make_data() {
  if (fs::exists(kData / "complete")) return;
  fs::remove_all(kData);
  std::mt19937 rng(7);
  std::normal_distribution<double> noise(0.0, 12.0);
  const std::array<cv::Vec3d, 3> colours = {cv::Vec3d(40, 60, 200), cv::Vec3d(60, 200, 40),
                                            cv::Vec3d(200, 60, 40)};
  for (const auto& [part, count] : {std::pair<std::string, int>{"train", 10}, {"test", 4}}) {
    for (size_t c = 0; c < kClasses.size(); ++c) {
      const fs::path folder = kData / part / kClasses[c];
      fs::create_directories(folder);
      for (int i = 0; i < count; ++i) {
        cv::Mat image(32, 32, CV_8UC3);
        for (int y = 0; y < 32; ++y) {
          for (int x = 0; x < 32; ++x) {
            for (int ch = 0; ch < 3; ++ch) {
              image.at<cv::Vec3b>(y, x)[ch] = cv::saturate_cast<uchar>(colours[c][ch] + noise(rng));
            }
          }
        }
        char name[16];
        std::snprintf(name, sizeof name, "%04d.png", i);
        ASSERT_TRUE(cv::imwrite((folder / name).string(), image));
      }
    }
  }
  std::ofstream(kData / "complete") << "ok";
}

std::string common_flags(const fs::path& out) {
  return " --bit 12 --data-dir " + kData.string() + " --output-dir " + out.string() +
         " --input-size 64 --batch-size 4 --query-per-class 2 --train-per-class 4 "
         "--device cpu --threads 2 --seed 5";
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  return json::parse(in);
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(E2E, Train) {
  make_data();
  fs::remove_all(kOut);
  const auto r = run(bin("greedyhash_train") + common_flags(kOut) + " --epochs 1 --eval-every 1");
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* file : {"config.json", "split.json", "train.log", "metrics.jsonl", "last.pt",
                           "best.pt", "last_state.pt"}) {
    EXPECT_TRUE(fs::exists(kRun / file)) << file;
  }
  // 3 classes: 2 query and 4 train per class; database = everything but the queries.
  const json split = read_json(kRun / "split.json");
  EXPECT_EQ(split["sizes"]["query"], 6);
  EXPECT_EQ(split["sizes"]["train"], 12);
  EXPECT_EQ(split["sizes"]["database"], 36);
  std::ifstream metrics(kRun / "metrics.jsonl");
  std::string line;
  ASSERT_TRUE(std::getline(metrics, line));
  const json record = json::parse(line);
  EXPECT_EQ(record["epoch"], 1);
  EXPECT_TRUE(std::isfinite(record["loss"].get<double>()));
  EXPECT_GE(record["map"].get<double>(), 0.0);
  EXPECT_LE(record["map"].get<double>(), 1.0);
  EXPECT_EQ(read_json(kRun / "config.json")["input_size"], 64);
  EXPECT_NE(r.output.find("epoch 1/1"), std::string::npos) << r.output;
}

TEST(E2E, Eval) {
  const auto r =
      run(bin("greedyhash_eval") + " --bit 12 --output-dir " + kOut.string() + " --save-codes");
  ASSERT_EQ(r.status, 0) << r.output;
  const json report = read_json(kRun / "eval.json");
  for (const char* key : {"map", "map_tie_aware", "accuracy", "bit", "num_query", "num_database",
                          "pr_curve", "precision_at_n"}) {
    EXPECT_TRUE(report.contains(key)) << key;
  }
  EXPECT_EQ(report["bit"], 12);
  EXPECT_EQ(report["num_query"], 6);
  EXPECT_EQ(report["num_database"], 36);
  const double map = report["map"];
  EXPECT_GE(map, 0.0);
  EXPECT_LE(map, 1.0);
  EXPECT_GE(report["accuracy"].get<double>(), 0.0);
  EXPECT_LE(report["accuracy"].get<double>(), 1.0);
  EXPECT_EQ(report["pr_curve"]["precision"].size(), 13u);  // radii 0..12

  // The metrics library on the saved codes gives eval's number.
  const auto query = load_codes_pm1_npy(kRun / "query_codes.npy");
  const auto database = load_codes_pm1_npy(kRun / "database_codes.npy");
  EXPECT_EQ(query.size(), 6);
  EXPECT_EQ(database.size(), 36);
  const auto recomputed =
      mean_average_precision(LabeledCodes(query, load_npy(kRun / "query_labels.npy")),
                             LabeledCodes(database, load_npy(kRun / "database_labels.npy")));
  EXPECT_NEAR(recomputed.map, map, 1e-12);

  for (const char* png : {"pr_curve.png", "precision_at_n.png"}) {
    const cv::Mat image = cv::imread((kRun / png).string());
    EXPECT_FALSE(image.empty()) << png;
  }
  EXPECT_NE(r.output.find("mAP@all"), std::string::npos) << r.output;
}

TEST(E2E, PredictPicId) {
  // Test image 5 in (class, file name) order is dog/0001.png: 4 test images per class.
  const auto r = run(bin("greedyhash_predict") + " --bit 12 --output-dir " + kOut.string() +
                     " --pic_id 5 --topk 4");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Predicted class"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("true class 1 (dog)"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("dog/0001.png"), std::string::npos) << r.output;
  const cv::Mat mosaic = cv::imread((kRun / "retrieval_test_5.png").string());
  ASSERT_FALSE(mosaic.empty());
  EXPECT_GT(mosaic.cols, 4 * 96);  // query + 4 results side by side
}

TEST(E2E, PredictImage) {
  const auto r = run(bin("greedyhash_predict") + " --bit 12 --output-dir " + kOut.string() +
                     " --image " + (kData / "test" / "ship" / "0002.png").string() + " --topk 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Predicted class"), std::string::npos) << r.output;
  EXPECT_TRUE(fs::exists(kRun / "retrieval_0002.png"));
}

TEST(E2E, ExportAndLoad) {
  const fs::path exported = kWork / "model.pt";
  const auto r = run(bin("greedyhash_export") + " --bit 12 --output-dir " + kOut.string() +
                     " --output " + exported.string());
  ASSERT_EQ(r.status, 0) << r.output;
  auto module = torch::jit::load(exported.string());
  module.eval();

  GreedyHash model(12, 3);
  load_checkpoint(kRun / "best.pt", model);
  model->eval();
  torch::NoGradGuard no_grad;
  const auto input = torch::randn({2, 3, 64, 64});
  const auto expected = model->forward(input);
  const auto outputs = module.forward({input}).toTuple();
  const auto codes = outputs->elements()[0].toTensor();
  const auto logits = outputs->elements()[1].toTensor();
  EXPECT_TRUE(torch::equal(codes, expected.codes));
  EXPECT_TRUE(torch::allclose(logits, expected.logits, 1e-5, 1e-5));
}

std::string error_line(const Result& r) {
  // The error contract: the last line starts with "<app>: error:".
  auto end = r.output.find_last_not_of('\n');
  auto start = r.output.rfind('\n', end);
  return r.output.substr(start == std::string::npos ? 0 : start + 1, end - start);
}

TEST(E2E, BadInput) {
  // Missing data folder.
  auto r = run(bin("greedyhash_train") + " --bit 12 --data-dir /nonexistent/cifar --output-dir " +
               (kWork / "bad").string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(error_line(r).find("/nonexistent/cifar"), std::string::npos) << r.output;

  // Unknown key in a config file.
  const fs::path config = kWork / "bad_config.json";
  std::ofstream(config) << R"({"bit": 12, "epocs": 3})";
  r = run(bin("greedyhash_train") + " --config " + config.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(error_line(r).find("'epocs'"), std::string::npos) << r.output;

  // A checkpoint for another bit length.
  r = run(bin("greedyhash_eval") + " --bit 24 --output-dir " + kOut.string() + " --checkpoint " +
          (kRun / "best.pt").string() + " --data-dir " + kData.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(error_line(r).find("12-bit"), std::string::npos) << r.output;

  // A corrupt checkpoint.
  const fs::path corrupt = kWork / "corrupt.pt";
  std::ofstream(corrupt) << "not a checkpoint";
  r = run(bin("greedyhash_eval") + " --bit 12 --output-dir " + kOut.string() + " --checkpoint " +
          corrupt.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(error_line(r).find(corrupt.string()), std::string::npos) << r.output;

  // Hostile ImageNet weights: a 163-byte torch.save dict that contains itself
  // (tests/data/serialize/make_hostile.py) used to kill the process with SIGSEGV.
  const fs::path hostile =
      fs::path(GREEDYHASH_SOURCE_DIR) / "tests/data/serialize/self_containing_legacy.pt";
  r = run(bin("greedyhash_train") + " --bit 12 --data-dir " + kData.string() +
          " --input-size 64 --epochs 1 --query-per-class 2 --train-per-class 8 --device cpu "
          "--threads 2 --output-dir " +
          (kWork / "hostile").string() + " --pretrained " + hostile.string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(error_line(r).find(hostile.string() + ": holds a dict that contains itself"),
            std::string::npos)
      << r.output;

  // A test image that does not exist.
  r = run(bin("greedyhash_predict") + " --bit 12 --output-dir " + kOut.string() + " --pic_id 12");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(error_line(r).find("--pic_id 12"), std::string::npos) << r.output;

  // Evaluation without a run.
  r = run(bin("greedyhash_eval") + " --bit 32 --output-dir " + (kWork / "empty").string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(error_line(r).find("no checkpoint"), std::string::npos) << r.output;

  // A bad flag value.
  r = run(bin("greedyhash_train") + " --bit 12 --epochs many");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(error_line(r).find("--epochs"), std::string::npos) << r.output;
}

TEST(E2E, NanLossKeepsCheckpoint) {
  const fs::path out = kWork / "nan";
  fs::remove_all(out);
  fs::create_directories(out);
  fs::copy(kRun, out / "bit_12", fs::copy_options::recursive);
  const std::string before = file_bytes(out / "bit_12" / "last.pt");
  // An absurd learning rate overflows the weights within a step or two.
  const auto r = run(bin("greedyhash_train") + " --bit 12 --output-dir " + out.string() +
                     " --resume --epochs 2 --lr 1e30 --momentum 0");
  EXPECT_EQ(r.status, 1) << r.output;
  const std::string line = error_line(r);
  EXPECT_NE(line.find("loss became"), std::string::npos) << r.output;
  EXPECT_NE(line.find("at epoch 2 step"), std::string::npos) << r.output;
  EXPECT_EQ(file_bytes(out / "bit_12" / "last.pt"), before);
}

StateDict weights(const fs::path& checkpoint) {
  StateDict tensors;
  for (const auto& item : read_state_dict(checkpoint)) tensors.insert(item.key(), item.value());
  return tensors;
}

TEST(E2E, ResumeAfterKillIsBitIdentical) {
  make_data();
  const std::string flags =
      " --bit 12 --data-dir " + kData.string() +
      " --input-size 64 --batch-size 2 --query-per-class 2 --train-per-class 8 --device cpu "
      "--threads 2 --seed 11 --eval-every 1 --epochs 2";
  const fs::path straight = kWork / "straight", resumed = kWork / "resumed";
  fs::remove_all(straight);
  fs::remove_all(resumed);
  auto r = run(bin("greedyhash_train") + flags + " --output-dir " + straight.string());
  ASSERT_EQ(r.status, 0) << r.output;

  // Start the same run, kill -9 it as soon as epoch 1 is recorded (epoch 2 under way).
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string command = "exec " + bin("greedyhash_train") + flags + " --output-dir " +
                                resumed.string() + " > " + (kWork / "killed.log").string() +
                                " 2>&1";
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  const fs::path metrics = resumed / "bit_12" / "metrics.jsonl";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  while (!(fs::exists(metrics) && fs::file_size(metrics) > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the run finished before it could be killed";
  ASSERT_EQ(read_checkpoint_meta(resumed / "bit_12" / "last.pt").epoch, 1);

  r = run(bin("greedyhash_train") + " --bit 12 --output-dir " + resumed.string() + " --resume");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("resuming after epoch 1"), std::string::npos) << r.output;

  const auto a = weights(straight / "bit_12" / "last.pt");
  const auto b = weights(resumed / "bit_12" / "last.pt");
  ASSERT_EQ(a.size(), b.size());
  for (const auto& item : a) {
    ASSERT_NE(b.find(item.key()), nullptr) << item.key();
    EXPECT_TRUE(torch::equal(item.value(), *b.find(item.key()))) << item.key();
  }
  // The metrics of the two runs agree too, epoch by epoch (timings aside).
  const auto lines = [](const fs::path& file) {
    std::vector<json> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      auto record = json::parse(line);
      record.erase("seconds");
      record.erase("img_per_s");
      record.erase("eval_seconds");
      out.push_back(record);
    }
    return out;
  };
  EXPECT_EQ(lines(straight / "bit_12" / "metrics.jsonl"), lines(metrics));
}

std::vector<json> metrics_lines(const fs::path& file) {
  std::vector<json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
  return out;
}

// Two workers through scripts/train_distributed.sh, then a distributed --resume.
TEST(E2E, DistributedTwoWorkersAndResume) {
  make_data();
  const fs::path out = kWork / "distributed";
  fs::remove_all(out);
  const std::string launcher = "GREEDYHASH_BIN=" + std::string(GREEDYHASH_BIN_DIR) +
                               " GREEDYHASH_DIST_TIMEOUT_S=60 " GREEDYHASH_SOURCE_DIR
                               "/scripts/train_distributed.sh 2";
  const std::string flags = " --bit 12 --data-dir " + kData.string() + " --output-dir " +
                            out.string() +
                            " --input-size 64 --batch-size 2 --query-per-class 2 "
                            "--train-per-class 4 --device cpu --threads 1 --seed 5 --eval-every 1";
  auto r = run(launcher + flags + " --epochs 1");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("[rank 1] "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("data-parallel: rank 1 of 2 (gloo), global batch 4"), std::string::npos)
      << r.output;
  const fs::path run_dir = out / "bit_12";
  // 12 training images, 2 ranks x 2 per batch: 3 steps per epoch on each rank.
  auto records = metrics_lines(run_dir / "metrics.jsonl");
  ASSERT_EQ(records.size(), 1u);
  for (const auto& record : records) {
    EXPECT_EQ(record["world_size"], 2);
    EXPECT_GE(record["map"].get<double>(), 0.0);
    EXPECT_LE(record["map"].get<double>(), 1.0);
  }
  EXPECT_NE(r.output.find("[rank 0] ["), std::string::npos) << r.output;
  // Rank 0 alone logs to train.log: no line of rank 1 in it.
  const std::string log = file_bytes(run_dir / "train.log");
  EXPECT_NE(log.find("data-parallel: rank 0 of 2"), std::string::npos) << log;
  EXPECT_EQ(log.find("rank 1 of 2"), std::string::npos) << log;
  EXPECT_EQ(read_checkpoint_meta(run_dir / "last.pt").epoch, 1);

  r = run(launcher + " --bit 12 --output-dir " + out.string() + " --resume --epochs 2");
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("[rank 1] "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("resuming after epoch 1"), std::string::npos) << r.output;
  records = metrics_lines(run_dir / "metrics.jsonl");
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1]["epoch"], 2);
  EXPECT_EQ(records[1]["world_size"], 2);
  EXPECT_EQ(read_checkpoint_meta(run_dir / "last.pt").epoch, 2);
}

// A worker killed mid-training: the survivor stops with the one-line distributed error
// within its (short) timeout instead of waiting forever.
TEST(E2E, DistributedKilledWorkerStopsTheOther) {
  make_data();
  const fs::path out = kWork / "distributed_kill";
  fs::remove_all(out);
  fs::create_directories(out);
  const std::string port = std::to_string(29400 + ::getpid() % 2000);
  const std::string flags = " --bit 12 --data-dir " + kData.string() + " --output-dir " +
                            out.string() +
                            " --input-size 64 --batch-size 1 --query-per-class 2 "
                            "--train-per-class 8 --device cpu --threads 1 --seed 5 --epochs 50 "
                            "--eval-every 0";
  pid_t pids[2];
  for (int rank = 0; rank < 2; ++rank) {
    pids[rank] = ::fork();
    ASSERT_GE(pids[rank], 0);
    if (pids[rank] == 0) {
      const std::string command =
          "RANK=" + std::to_string(rank) + " WORLD_SIZE=2 LOCAL_RANK=" + std::to_string(rank) +
          " MASTER_ADDR=127.0.0.1 MASTER_PORT=" + port + " GREEDYHASH_DIST_TIMEOUT_S=5 exec " +
          bin("greedyhash_train") + flags + " > " +
          (out / ("rank" + std::to_string(rank) + ".log")).string() + " 2>&1";
      ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
  }
  // Kill rank 1 once both have joined and rank 0 is about to train.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
  while (file_bytes(out / "rank0.log").find("data-parallel: rank 0 of 2") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pids[1], SIGKILL);
  ::waitpid(pids[1], nullptr, 0);
  const auto killed_at = std::chrono::steady_clock::now();
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pids[0], &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() - killed_at < std::chrono::seconds(60)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (done == 0) {
    ::kill(pids[0], SIGKILL);
    ::waitpid(pids[0], nullptr, 0);
    FAIL() << "rank 0 still running 60 s after its peer was killed\n"
           << file_bytes(out / "rank0.log");
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  const std::string log = file_bytes(out / "rank0.log");
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 1) << log;
  EXPECT_LT(seconds, 30.0) << log;
  EXPECT_NE(error_line({0, log}).find("greedyhash_train: error: distributed "), std::string::npos)
      << log;
}

}  // namespace
}  // namespace greedyhash
