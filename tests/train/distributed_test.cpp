// Data-parallel collectives on loopback: real Gloo process groups in forked child
// processes (one per rank), checked against a single process doing the same maths.
#include "greedyhash/train/distributed.h"
#include "greedyhash/runtime/stopwatch.h"

#include <gtest/gtest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <torch/torch.h>
#include <unistd.h>
#include "test_support.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/model/accumulating_linear.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/loss.h"
#include "greedyhash/model/memory_format.h"
#include "greedyhash/train/fused_momentum_sgd.h"
#include "greedyhash/train/training_step.h"

namespace greedyhash {
namespace {

namespace fs = std::filesystem;

sockaddr_in loopback_address(int64_t port) {
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  return address;
}

// A TCP port on 127.0.0.1 that the kernel just handed out (and we released).
int64_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address = loopback_address(0);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  const int port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

fs::path fresh_dir(const std::string& name) {
  const fs::path dir = test_folder("dist_" + name);
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

DistributedOptions loopback(int64_t rank, int64_t port, std::chrono::milliseconds timeout) {
  DistributedOptions options;
  options.rank = rank;
  options.world_size = 2;
  options.master_addr = "127.0.0.1";
  options.master_port = port;
  options.timeout = timeout;
  return options;
}

struct ChildResult {
  int exit_code = -1;  // -1: killed by a signal or still running at the deadline
  double seconds = 0;
};

// Runs body(rank) in `ranks` forked children at once; a child's exit code is body's
// return value (an escaping exception: 100). Waits at most `deadline` for all of them,
// then kills the stragglers.
std::vector<ChildResult> run_ranks(int ranks, const std::function<int(int)>& body,
                                   std::chrono::seconds deadline) {
  const auto start = std::chrono::steady_clock::now();
  std::vector<pid_t> pids;
  for (int rank = 0; rank < ranks; ++rank) {
    const pid_t pid = ::fork();
    if (pid == 0) {
      int code = 100;
      try {
        torch::set_num_threads(1);
        code = body(rank);
      } catch (...) {
      }
      std::_Exit(code);
    }
    pids.push_back(pid);
  }
  std::vector<ChildResult> results(pids.size());
  size_t left = pids.size();
  while (left > 0 && std::chrono::steady_clock::now() - start < deadline) {
    for (size_t i = 0; i < pids.size(); ++i) {
      if (pids[i] == 0) continue;
      int status = 0;
      if (::waitpid(pids[i], &status, WNOHANG) == pids[i]) {
        results[i].exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
        results[i].seconds = seconds_since(start);
        pids[i] = 0;
        --left;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (const pid_t pid : pids) {
    if (pid == 0) continue;
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  return results;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The toy problem: 8 samples of 6 features, 3 classes; a 2-layer MLP trained with the
// project's SGD settings. Step s uses samples 4s mod 8 .. +3 as its global batch.
struct Problem {
  torch::Tensor x = torch::randn({8, 6}, torch::TensorOptions().dtype(torch::kFloat));
  torch::Tensor y = torch::tensor({0, 1, 2, 0, 1, 2, 1, 0}, torch::kLong);
};

torch::nn::Sequential make_model(uint64_t seed) {
  torch::manual_seed(seed);
  return torch::nn::Sequential(torch::nn::Linear(6, 5), torch::nn::Tanh(), torch::nn::Linear(5, 3));
}

torch::optim::SGD make_sgd(torch::nn::Sequential& model) {
  return torch::optim::SGD(model->parameters(),
                           torch::optim::SGDOptions(0.1).momentum(0.9).weight_decay(5e-4));
}

torch::Tensor flat_parameters(torch::nn::Sequential& model) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : model->parameters()) parts.push_back(p.detach().reshape({-1}));
  return torch::cat(parts).clone();
}

// Where rank `rank` saves its flat parameters after step `step` (0-based).
fs::path saved_parameters(const fs::path& dir, int rank, int step) {
  return dir / ("rank" + std::to_string(rank) + "_step" + std::to_string(step));
}

// Both ranks saved the same parameters after `step`, within 1e-5 of `expected`.
void expect_ranks_hold(const fs::path& dir, int step, const torch::Tensor& expected) {
  torch::Tensor rank0, rank1;
  torch::load(rank0, saved_parameters(dir, 0, step).string());
  torch::load(rank1, saved_parameters(dir, 1, step).string());
  EXPECT_TRUE(torch::equal(rank0, rank1)) << "step " << step + 1;
  EXPECT_LT((rank0 - expected).abs().max().item<double>(), 1e-5) << "step " << step + 1;
}

constexpr int kSteps = 4;

TEST(Distributed, PaddedShardsCoverTheListInRankOrder) {
  const std::vector<int64_t> items = {10, 11, 12, 13, 14};
  // ceil(5 / 2) = 3 per rank: [10 11 12] and [13 14] padded with the last item, 14.
  EXPECT_EQ(padded_shard(items, 0, 2), (std::vector<int64_t>{10, 11, 12}));
  EXPECT_EQ(padded_shard(items, 1, 2), (std::vector<int64_t>{13, 14, 14}));
  // ceil(5 / 4) = 2: [10 11] [12 13] [14 14] [14 14].
  EXPECT_EQ(padded_shard(items, 2, 4), (std::vector<int64_t>{14, 14}));
  EXPECT_EQ(padded_shard(items, 3, 4), (std::vector<int64_t>{14, 14}));
  EXPECT_EQ(padded_shard(items, 0, 1), items);
}

TEST(Distributed, SingleProcessContextIsANoOp) {
  DistributedContext single;
  EXPECT_EQ(single.world_size(), 1);
  EXPECT_TRUE(single.is_main());
  EXPECT_FALSE(single.enabled());
  auto p = torch::ones({3}, torch::requires_grad());
  p.mutable_grad() = torch::full({3}, 2.0);
  single.average_gradients({p});
  EXPECT_TRUE(torch::equal(p.grad(), torch::full({3}, 2.0)));
  const auto rows = torch::arange(6).reshape({3, 2});
  EXPECT_TRUE(torch::equal(single.all_gather_rows(rows), rows));
}

TEST(Distributed, EnvironmentParsing) {
  ::unsetenv("RANK");
  ::unsetenv("WORLD_SIZE");
  EXPECT_EQ(distributed_options_from_env().world_size, 1);
  ::setenv("RANK", "1", 1);
  EXPECT_THROW(distributed_options_from_env(), Error);  // WORLD_SIZE missing
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("MASTER_ADDR", "10.1.2.3", 1);
  ::setenv("MASTER_PORT", "29511", 1);
  ::setenv("GREEDYHASH_DIST_TIMEOUT_S", "7", 1);
  const auto options = distributed_options_from_env();
  EXPECT_EQ(options.rank, 1);
  EXPECT_EQ(options.world_size, 4);
  EXPECT_EQ(options.master_addr, "10.1.2.3");
  EXPECT_EQ(options.master_port, 29511);
  EXPECT_EQ(options.timeout, std::chrono::seconds(7));
  ::setenv("RANK", "4", 1);
  EXPECT_THROW(distributed_options_from_env(), Error);  // rank >= world size
  ::setenv("RANK", "x", 1);
  EXPECT_THROW(distributed_options_from_env(), Error);
  for (const char* name :
       {"RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT", "GREEDYHASH_DIST_TIMEOUT_S"}) {
    ::unsetenv(name);
  }
}

// Two Gloo ranks, each on half of every global batch, with gradients averaged in small
// buckets: after every step both ranks hold the same parameters, and those equal a
// single process's SGD on the whole batch (the mean gradient of the halves is the
// gradient of the mean). Rank 1 starts from other weights: the broadcast must fix that.
TEST(Distributed, TwoRanksStayIdenticalAndMatchOneProcess) {
  const fs::path dir = fresh_dir("steps");
  const int64_t port = free_port();
  const auto results = run_ranks(
      2,
      [&](int rank) {
        torch::manual_seed(1);
        const Problem problem;
        DistributedContext dist(loopback(rank, port, std::chrono::seconds(20)),
                                c10::Device(c10::kCPU));
        if (dist.world_size() != 2 || dist.rank() != rank || dist.backend_name() != "gloo") {
          return 3;
        }
        auto model = make_model(rank == 0 ? 7 : 8);
        dist.broadcast(model->parameters());
        auto sgd = make_sgd(model);
        for (int step = 0; step < kSteps; ++step) {
          const int64_t first = (4 * step) % 8 + 2 * rank;
          const auto loss = torch::nn::functional::cross_entropy(
              model->forward(problem.x.narrow(0, first, 2)), problem.y.narrow(0, first, 2));
          sgd.zero_grad();
          loss.backward();
          dist.average_gradients(model->parameters(), /*bucket_bytes=*/64);
          sgd.step();
          torch::save(flat_parameters(model), saved_parameters(dir, rank, step).string());
        }
        dist.check_identical(model->parameters());
        // all_gather_rows: rank r contributes [[r, 10 + r]].
        const auto gathered =
            dist.all_gather_rows(torch::tensor({{rank, 10 + rank}}, torch::kFloat));
        if (!torch::equal(gathered, torch::tensor({{0.0f, 10.0f}, {1.0f, 11.0f}}))) return 4;
        // A replica that drifts is detected on every rank.
        if (rank == 1) {
          torch::NoGradGuard no_grad;
          model->parameters()[0].add_(1e-3);
        }
        try {
          dist.check_identical(model->parameters());
          return 5;
        } catch (const Error&) {
        }
        dist.barrier();
        return 0;
      },
      std::chrono::seconds(60));
  ASSERT_EQ(results[0].exit_code, 0);
  ASSERT_EQ(results[1].exit_code, 0);

  torch::manual_seed(1);
  const Problem problem;
  auto model = make_model(7);
  auto sgd = make_sgd(model);
  const auto initial = flat_parameters(model);
  for (int step = 0; step < kSteps; ++step) {
    const int64_t first = (4 * step) % 8;
    const auto loss = torch::nn::functional::cross_entropy(
        model->forward(problem.x.narrow(0, first, 4)), problem.y.narrow(0, first, 4));
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    const auto expected = flat_parameters(model);
    expect_ranks_hold(dir, step, expected);
    EXPECT_GT((expected - initial).abs().max().item<double>(), 1e-3);  // training moved
  }
  fs::remove_all(dir);
}

// The trainer's optimiser in data-parallel training. FusedMomentumSGD keeps
// m * buf + wd * p + gradient in .grad while average_gradients all-reduces it, and
// AccumulatingLinear adds its weight gradients straight into that buffer: the mean over
// ranks is the right update only because every rank holds the same m * buf + wd * p, and
// only if the mean lands in the buffer itself. Two Gloo ranks, each on half of every
// global batch, set up as train_model does it (channels-last, broadcast, default
// buckets), against torch::optim::SGD on the whole batch in one process, step by step;
// from the second step on, .grad holds the momentum buffer during the all-reduce.
torch::nn::Sequential small_convnet(bool accumulating) {
  namespace nn = torch::nn;
  nn::Sequential model(nn::Conv2d(nn::Conv2dOptions(2, 4, 3)), nn::ReLU(), nn::Flatten());
  if (accumulating) {
    model->push_back(AccumulatingLinear(36, 16));
    model->push_back(nn::ReLU());
    model->push_back(AccumulatingLinear(16, 8));
  } else {
    model->push_back(nn::Linear(36, 16));
    model->push_back(nn::ReLU());
    model->push_back(nn::Linear(16, 8));
  }
  model->push_back(nn::ReLU());
  model->push_back(nn::Linear(nn::LinearOptions(8, 3).bias(false)));
  return model;
}

TEST(Distributed, FusedSgdWithAccumulatingLinearMatchesOneProcess) {
  constexpr int kFusedSteps = 5;
  constexpr int64_t kGlobalBatch = 8;
  const auto options = torch::optim::SGDOptions(0.05).momentum(0.9).weight_decay(0.01);
  const auto make_data = [] {
    torch::manual_seed(11);
    auto x = torch::randn({kFusedSteps * kGlobalBatch, 2, 5, 5});
    auto y = torch::randint(0, 3, {kFusedSteps * kGlobalBatch});
    return std::make_pair(x, y);
  };
  const fs::path dir = fresh_dir("fused");
  const int64_t port = free_port();
  const auto results = run_ranks(
      2,
      [&](int rank) {
        const auto [x, y] = make_data();
        DistributedContext dist(loopback(rank, port, std::chrono::seconds(20)),
                                c10::Device(c10::kCPU));
        torch::manual_seed(rank == 0 ? 7 : 8);
        auto model = small_convnet(/*accumulating=*/true);
        use_channels_last(*model);
        FusedMomentumSGD sgd(model->parameters(), options);
        dist.broadcast(model->parameters());
        for (int step = 0; step < kFusedSteps; ++step) {
          const int64_t first = step * kGlobalBatch + rank * kGlobalBatch / 2;
          const auto loss = torch::nn::functional::cross_entropy(
              model->forward(x.narrow(0, first, kGlobalBatch / 2)),
              y.narrow(0, first, kGlobalBatch / 2));
          sgd.zero_grad();
          loss.backward();
          dist.average_gradients(model->parameters());
          sgd.step();
          torch::save(flat_parameters(model), saved_parameters(dir, rank, step).string());
        }
        dist.barrier();
        return 0;
      },
      std::chrono::seconds(60));
  ASSERT_EQ(results[0].exit_code, 0);
  ASSERT_EQ(results[1].exit_code, 0);

  const auto [x, y] = make_data();
  torch::manual_seed(7);
  auto reference = small_convnet(/*accumulating=*/false);
  torch::manual_seed(7);
  auto fused_layout = small_convnet(/*accumulating=*/true);
  ASSERT_TRUE(torch::equal(flat_parameters(reference), flat_parameters(fused_layout)))
      << "both layouts start from the same weights";
  torch::optim::SGD sgd(reference->parameters(), options);
  const auto initial = flat_parameters(reference);
  for (int step = 0; step < kFusedSteps; ++step) {
    const auto loss = torch::nn::functional::cross_entropy(
        reference->forward(x.narrow(0, step * kGlobalBatch, kGlobalBatch)),
        y.narrow(0, step * kGlobalBatch, kGlobalBatch));
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    const auto expected = flat_parameters(reference);
    expect_ranks_hold(dir, step, expected);
    // Far more than the tolerance: the comparison means something.
    EXPECT_GT((expected - initial).abs().max().item<double>(), 1e-3) << "step " << step + 1;
  }
  fs::remove_all(dir);
}

// BatchNorm in data-parallel training, as PyTorch's DistributedDataParallel has it
// (broadcast_buffers): each rank normalises its half of the global batch with that half's
// statistics, gradients are averaged, and the running statistics are rank 0's. Two Gloo
// ranks train a ResNet-18 through TrainingStep; the reference is one process playing both
// ranks with two copies of the model, rank 0's buffers copied into the other by hand before
// every forward, the gradients averaged by hand and torch::optim::SGD stepping. After every
// step both ranks hold the reference's parameters and buffers.
torch::Tensor flat_state(const torch::nn::Module& model) {
  std::vector<torch::Tensor> parts;
  for (const auto& p : model.parameters())
    parts.push_back(p.detach().reshape({-1}).to(torch::kDouble));
  for (const auto& b : model.buffers())
    parts.push_back(b.detach().reshape({-1}).to(torch::kDouble));
  return torch::cat(parts);
}

TEST(Distributed, BatchNormStatisticsAreRankZerosAfterEveryStep) {
  constexpr int kBnSteps = 3;
  constexpr int64_t kHalf = 4;
  const auto make_data = [] {
    torch::manual_seed(12);
    auto x = torch::randn({kBnSteps * 2 * kHalf, 3, 64, 64});
    // Each rank's half shifted differently: their batch statistics, and so the running
    // statistics each rank would keep alone, differ clearly.
    x.narrow(0, 0, kHalf).add_(0.5);
    auto y = torch::randint(0, 3, {kBnSteps * 2 * kHalf});
    return std::make_pair(x, y);
  };
  const auto half = [](const torch::Tensor& t, int step, int rank) {
    return t.narrow(0, (2 * step + rank) * kHalf, kHalf);
  };
  TrainingStepOptions options;
  options.lr = 0.05;
  const fs::path dir = fresh_dir("batch_norm");
  const int64_t port = free_port();
  const auto results = run_ranks(
      2,
      [&](int rank) {
        const auto [x, y] = make_data();
        DistributedContext dist(loopback(rank, port, std::chrono::seconds(30)),
                                c10::Device(c10::kCPU));
        torch::manual_seed(rank == 0 ? 7 : 8);
        GreedyHash model(16, 3, "resnet18");
        std::vector<torch::Tensor> replicated = model->parameters();
        for (const auto& b : model->buffers()) replicated.push_back(b);
        dist.broadcast(replicated);
        model->train();
        TrainingStep step(model, options, &dist);
        for (int s = 0; s < kBnSteps; ++s) {
          Batch batch;
          batch.images = half(x, s, rank);
          batch.labels = torch::one_hot(half(y, s, rank), 3).to(torch::kUInt8);
          step(batch);
          torch::save(flat_state(*model), saved_parameters(dir, rank, s).string());
        }
        dist.check_identical(replicated);
        dist.barrier();
        return 0;
      },
      std::chrono::seconds(120));
  ASSERT_EQ(results[0].exit_code, 0);
  ASSERT_EQ(results[1].exit_code, 0);

  const auto [x, y] = make_data();
  torch::manual_seed(7);
  GreedyHash rank0(16, 3, "resnet18");
  torch::manual_seed(7);
  GreedyHash rank1(16, 3, "resnet18");
  rank0->train();
  rank1->train();
  torch::optim::SGD sgd(rank0->parameters(), torch::optim::SGDOptions(options.lr)
                                                 .momentum(options.momentum)
                                                 .weight_decay(options.weight_decay));
  const auto initial = flat_state(*rank0);
  const auto p0 = rank0->parameters(), p1 = rank1->parameters();
  const auto b0 = rank0->buffers(), b1 = rank1->buffers();
  for (int s = 0; s < kBnSteps; ++s) {
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < b0.size(); ++i) b1[i].copy_(b0[i]);
    }
    sgd.zero_grad();
    for (size_t i = 0; i < p1.size(); ++i) p1[i].mutable_grad() = torch::Tensor();
    for (auto [model, rank] : {std::make_pair(rank0, 0), std::make_pair(rank1, 1)}) {
      const auto out = model->forward(half(x, s, rank));
      greedy_hash_loss(out.logits, out.h, half(y, s, rank), options.alpha).total.backward();
    }
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < p0.size(); ++i) p0[i].grad().add_(p1[i].grad()).mul_(0.5);
    }
    sgd.step();
    {
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < p0.size(); ++i) p1[i].copy_(p0[i]);
    }
    const auto expected = flat_state(*rank0);
    for (int rank = 0; rank < 2; ++rank) {
      torch::Tensor held;
      torch::load(held, saved_parameters(dir, rank, s).string());
      EXPECT_LT((held - expected).abs().max().item<double>(), 1e-4)
          << "rank " << rank << " step " << s + 1;
    }
    // Rank 1's own statistics are far from rank 0's: the comparison tells them apart.
    EXPECT_GT((flat_state(*rank1) - expected).abs().max().item<double>(), 1e-2) << s + 1;
  }
  EXPECT_GT((flat_state(*rank0) - initial).abs().max().item<double>(), 1e-2);
  fs::remove_all(dir);
}

// Rank 1 dies (SIGKILL) after the first all-reduce; rank 0's next collective must fail
// with the one-line distributed error, and exit, well within its 3 s timeout + margin.
TEST(Distributed, KilledPeerMakesTheOtherFailWithinTheTimeout) {
  const fs::path dir = fresh_dir("kill");
  const int64_t port = free_port();
  const auto results = run_ranks(
      2,
      [&](int rank) {
        DistributedContext dist(loopback(rank, port, std::chrono::seconds(3)),
                                c10::Device(c10::kCPU));
        auto p = torch::ones({1000}, torch::requires_grad());
        p.mutable_grad() = torch::ones({1000});
        dist.average_gradients({p});
        if (rank == 1) ::raise(SIGKILL);
        try {
          for (int i = 0; i < 1000; ++i) dist.average_gradients({p});
        } catch (const Error& e) {
          std::ofstream(dir / "error.txt") << e.what();
          return 1;
        }
        return 0;
      },
      std::chrono::seconds(30));
  EXPECT_EQ(results[1].exit_code, -1);  // killed
  EXPECT_EQ(results[0].exit_code, 1);
  EXPECT_LT(results[0].seconds, 15.0);
  const std::string message = read_text(dir / "error.txt");
  EXPECT_NE(message.find("distributed all-reduce of gradients failed on rank 0 of 2"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("timeout 3 s"), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  fs::remove_all(dir);
}

// Blocks until nothing listens on 127.0.0.1:`port` any more (or `limit` passed).
void wait_until_port_closed(int64_t port, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    const sockaddr_in address = loopback_address(port);
    const bool listening =
        ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    if (!listening) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// Rank 1 reports a failure, as the trainer does on a NaN loss or an exception, and stays
// in the job (a process that exits closes its sockets, which Gloo notices by itself).
// Rank 0, blocked in the gradient all-reduce under the default 30-minute timeout, is
// ended by its failure watchdog within seconds: status 1 and one line on stderr naming
// rank 1's message.
TEST(Distributed, ReportedFailureEndsAPeerBlockedInACollectiveWithinSeconds) {
  const fs::path dir = fresh_dir("report");
  const int64_t port = free_port();
  const auto results = run_ranks(
      2,
      [&](int rank) {
        if (std::freopen((dir / ("rank" + std::to_string(rank) + ".err")).c_str(), "w", stderr) ==
            nullptr) {
          return 10;
        }
        DistributedOptions options = loopback(rank, port, DistributedOptions().timeout);
        DistributedContext dist(options, c10::Device(c10::kCPU));
        auto p = torch::ones({1000}, torch::requires_grad());
        p.mutable_grad() = torch::ones({1000});
        dist.average_gradients({p});
        if (rank == 0) {
          try {
            dist.average_gradients({p});
          } catch (const Error&) {
            return 2;  // the collective failed: the watchdog was not first
          }
          return 3;  // the collective completed: rank 1 never joined it
        }
        std::this_thread::sleep_for(std::chrono::seconds(1));  // rank 0 is waiting by now
        dist.report_failure("loss became nan at epoch 3 step 7\nsecond line");
        wait_until_port_closed(port, std::chrono::seconds(30));  // rank 0 hosts the store
        return 0;
      },
      std::chrono::seconds(40));
  EXPECT_EQ(results[0].exit_code, 1);
  EXPECT_LT(results[0].seconds, 10.0);
  EXPECT_EQ(results[1].exit_code, 0);
  const std::string message = read_text(dir / "rank0.err");
  EXPECT_NE(message.find("greedyhash_tests: error: rank 1 of 2 failed: loss became nan at epoch "
                         "3 step 7; rank 0 of 2 stops too\n"),
            std::string::npos)
      << message;
  EXPECT_EQ(message.find("second line"), std::string::npos) << message;
  fs::remove_all(dir);
}

// A rank whose peer never shows up gives up at the rendezvous after the timeout.
TEST(Distributed, MissingPeerFailsTheRendezvousAfterTheTimeout) {
  const fs::path dir = fresh_dir("missing");
  const int64_t port = free_port();
  const auto results = run_ranks(
      1,
      [&](int) {
        try {
          DistributedContext dist(loopback(0, port, std::chrono::seconds(2)),
                                  c10::Device(c10::kCPU));
        } catch (const Error& e) {
          std::ofstream(dir / "error.txt") << e.what();
          return 1;
        }
        return 0;
      },
      std::chrono::seconds(30));
  EXPECT_EQ(results[0].exit_code, 1);
  EXPECT_GE(results[0].seconds, 1.5);
  EXPECT_LT(results[0].seconds, 15.0);
  const std::string message = read_text(dir / "error.txt");
  EXPECT_NE(message.find("failed on rank 0 of 2"), std::string::npos) << message;
  fs::remove_all(dir);
}

}  // namespace
}  // namespace greedyhash
