#include "greedyhash/train/distributed.h"
#include "greedyhash/runtime/stopwatch.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>

#include <torch/torch.h>
#include <torch/version.h>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif

// USE_C10D_GLOO and USE_C10D_NCCL come from LibTorch's CMake targets. A PyTorch wheel
// defines both but ships neither Gloo's headers nor nccl.h (that one comes with the
// nvidia-nccl wheel), so a backend is compiled in only where its headers are found.
// Debian's LibTorch has Gloo (libgloo-dev) and no NCCL.
#if defined(USE_C10D_GLOO) && __has_include(<gloo/algorithm.h>)
#define GREEDYHASH_GLOO 1
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#if defined(USE_C10D_NCCL) && __has_include(<nccl.h>)
#define GREEDYHASH_NCCL 1
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "greedyhash/error.h"

namespace greedyhash {

namespace {

// LibTorch 2.0 split the backends off ProcessGroup into c10d::Backend; the collective
// signatures we use are the same on both.
#if TORCH_VERSION_MAJOR >= 2
using Backend = c10d::Backend;
#else
using Backend = c10d::ProcessGroup;
#endif

std::string env_or(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

int64_t env_int(const char* name, int64_t fallback, int64_t minimum) {
  const std::string text = env_or(name, "");
  if (text.empty()) return fallback;
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || value < minimum) {
    throw Error("environment variable " + std::string(name) + "='" + text +
                "' is not an integer >= " + std::to_string(minimum));
  }
  return value;
}

[[maybe_unused]] bool is_loopback(const std::string& address) {
  return address == "localhost" || address.rfind("127.", 0) == 0 || address == "::1";
}

enum class StoreRole {
  kRendezvous,  // counts itself in and waits for all ranks; rank 0 hosts the server
  kObserver,    // a further client that joins no count (the failure watchdog)
};

// A connection to the job's TCPStore.
c10::intrusive_ptr<c10d::Store> connect_store(const DistributedOptions& options, StoreRole role,
                                              std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions store_options;
  store_options.port = static_cast<std::uint16_t>(options.master_port);
  store_options.timeout = timeout;
  if (role == StoreRole::kRendezvous) {
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = static_cast<size_t>(options.world_size);
    store_options.waitWorkers = true;
  } else {
    store_options.isServer = false;
    store_options.waitWorkers = false;
  }
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  // LibTorch 2.4 made the libuv server backend the default, and builds without libuv
  // (Debian's) then refuse to start a store; the classic backend is in every build.
  store_options.useLibUV = false;
#endif
  return c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
}

// The store key a failing rank writes its message under.
const char* const kFailureKey = "greedyhash/failure";

// Polls the store for a failure another rank reported and ends this process when one
// appears. It has its own store connection (no sharing with the process group) with a
// short timeout; an unreachable store is ignored here: it means rank 0 has gone, which
// the collectives report themselves.
class FailureWatchdog {
 public:
  FailureWatchdog(const DistributedOptions& options, const std::atomic<bool>* reported_here)
      : reported_here_(reported_here) {
    store_ = connect_store(options, StoreRole::kObserver, std::chrono::seconds(5));
    thread_ = std::thread(
        [this, rank = options.rank, world = options.world_size] { watch(rank, world); });
  }

  ~FailureWatchdog() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

 private:
  void watch(int64_t rank, int64_t world) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!changed_.wait_for(lock, std::chrono::milliseconds(250), [&] { return stop_; })) {
      std::string message;
      try {
        if (!store_->check({kFailureKey})) continue;
        const std::vector<uint8_t> bytes = store_->get(kFailureKey);
        message.assign(bytes.begin(), bytes.end());
      } catch (const std::exception&) {
        continue;
      }
      if (*reported_here_) continue;  // this rank's own report: it is already unwinding
      // "<program>: error: ..." like every other fatal error of the executables.
      std::fprintf(stderr, "%s: error: %s; rank %lld of %lld stops too\n",
                   program_invocation_short_name, message.c_str(), static_cast<long long>(rank),
                   static_cast<long long>(world));
      std::fflush(stderr);
      // Wherever the main thread is blocked (a collective, a long evaluation), this is
      // the only way out; files are written atomically, so nothing is left half-written.
      std::_Exit(1);
    }
  }

  const std::atomic<bool>* reported_here_;
  c10::intrusive_ptr<c10d::Store> store_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stop_ = false;
  std::thread thread_;
};

// Collectives take one tensor: several of one dtype and device travel as a flat copy.
at::Tensor flatten(const std::vector<at::Tensor>& parts) {
  std::vector<at::Tensor> flat_parts;
  for (const auto& part : parts) flat_parts.push_back(part.reshape({-1}));
  return torch::cat(flat_parts);
}

// Writes `flat` (as made by flatten) back into `parts`, in place.
void unflatten_into(const std::vector<at::Tensor>& parts, const at::Tensor& flat) {
  int64_t offset = 0;
  for (const auto& part : parts) {
    part.detach().copy_(flat.narrow(0, offset, part.numel()).view_as(part));
    offset += part.numel();
  }
}

}  // namespace

DistributedOptions distributed_options_from_env() {
  DistributedOptions options;
  const bool has_rank = !env_or("RANK", "").empty();
  const bool has_world = !env_or("WORLD_SIZE", "").empty();
  if (has_rank != has_world) {
    throw Error("distributed launch needs both RANK and WORLD_SIZE in the environment (" +
                std::string(has_rank ? "WORLD_SIZE" : "RANK") + " is missing)");
  }
  options.timeout = std::chrono::seconds(env_int("GREEDYHASH_DIST_TIMEOUT_S", 1800, 1));
  if (!has_rank) return options;
  options.world_size = env_int("WORLD_SIZE", 1, 1);
  options.rank = env_int("RANK", 0, 0);
  if (options.rank >= options.world_size) {
    throw Error("environment variable RANK=" + std::to_string(options.rank) +
                " must be below WORLD_SIZE=" + std::to_string(options.world_size));
  }
  options.local_rank = env_int("LOCAL_RANK", 0, 0);
  options.master_addr = env_or("MASTER_ADDR", "127.0.0.1");
  options.master_port = env_int("MASTER_PORT", 29500, 1);
  if (options.master_port > 65535) {
    throw Error("environment variable MASTER_PORT=" + std::to_string(options.master_port) +
                " is not a TCP port (1-65535)");
  }
  return options;
}

std::vector<int64_t> padded_shard(const std::vector<int64_t>& items, int64_t rank,
                                  int64_t world_size) {
  const auto n = static_cast<int64_t>(items.size());
  const int64_t per_rank = (n + world_size - 1) / world_size;
  std::vector<int64_t> shard;
  shard.reserve(static_cast<size_t>(per_rank));
  for (int64_t i = rank * per_rank; i < (rank + 1) * per_rank; ++i) {
    shard.push_back(items[static_cast<size_t>(std::min(i, n - 1))]);
  }
  return shard;
}

struct DistributedContext::Impl {
  DistributedOptions options;
  std::string backend_name = "none";
  // Where collectives run: the CUDA device for NCCL, the CPU for Gloo.
  c10::Device collective_device = c10::Device(c10::kCPU);
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Backend> group;
  double reduce_seconds = 0;
  std::atomic<bool> reported_failure{false};
  std::unique_ptr<FailureWatchdog> watchdog;

  // Waits for `work`; any failure (peer gone, timeout) becomes one greedyhash::Error.
  void wait(const c10::intrusive_ptr<c10d::Work>& work, const std::string& what) const {
    try {
      work->wait(options.timeout);
    } catch (const std::exception& e) {
      throw Error(failure(what, e));
    }
  }

  std::string failure(const std::string& what, const std::exception& e) const {
    return "distributed " + what + " failed on rank " + std::to_string(options.rank) + " of " +
           std::to_string(options.world_size) + " (a worker exited or is unreachable; timeout " +
           std::to_string(options.timeout.count() / 1000) +
           " s, GREEDYHASH_DIST_TIMEOUT_S): " + first_line(e.what());
  }
};

DistributedContext::DistributedContext() : impl_(std::make_unique<Impl>()) {}

DistributedContext::DistributedContext(const DistributedOptions& options, c10::Device device)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = options;
  if (options.world_size <= 1) return;
#ifndef GREEDYHASH_GLOO
  bool has_backend = false;
#ifdef GREEDYHASH_NCCL
  has_backend = device.is_cuda();
#endif
  if (!has_backend) {
    throw Error("data-parallel training on " + device.str() +
                " needs LibTorch's Gloo backend (or NCCL on CUDA), which this build lacks: "
                "their headers were not found when greedyhash was built (a PyTorch wheel ships "
                "neither gloo/ nor nccl.h); build against Debian's LibTorch (libgloo-dev)");
  }
#endif
  const std::string where = options.master_addr + ":" + std::to_string(options.master_port);
  try {
    impl_->store = connect_store(options, StoreRole::kRendezvous, options.timeout);
  } catch (const std::exception& e) {
    throw Error(impl_->failure("rendezvous at " + where, e));
  }
  try {
#ifdef GREEDYHASH_NCCL
    if (device.is_cuda()) {
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = options.timeout;
      impl_->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          impl_->store, static_cast<int>(options.rank), static_cast<int>(options.world_size),
          nccl_options);
      impl_->backend_name = "nccl";
      impl_->collective_device = device;
    }
#endif
#ifdef GREEDYHASH_GLOO
    if (!impl_->group) {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
      // Loopback jobs stay on 127.0.0.1; otherwise GLOO_SOCKET_IFNAME, as in PyTorch, or
      // the interface this host name resolves to.
      const std::string interface = env_or("GLOO_SOCKET_IFNAME", "");
      if (!interface.empty()) {
        gloo_options->devices.push_back(
            c10d::ProcessGroupGloo::createDeviceForInterface(interface));
      } else if (is_loopback(options.master_addr)) {
        gloo_options->devices.push_back(
            c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        gloo_options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      gloo_options->threads = 2;
      impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
          impl_->store, static_cast<int>(options.rank), static_cast<int>(options.world_size),
          gloo_options);
      impl_->backend_name = "gloo";
    }
#endif
    impl_->watchdog = std::make_unique<FailureWatchdog>(options, &impl_->reported_failure);
  } catch (const std::exception& e) {
    throw Error(impl_->failure("process group setup via " + where, e));
  }
}

DistributedContext::~DistributedContext() = default;

int64_t DistributedContext::rank() const {
  return impl_->options.rank;
}

int64_t DistributedContext::world_size() const {
  return impl_->group ? impl_->options.world_size : 1;
}

std::string DistributedContext::backend_name() const {
  return impl_->backend_name;
}

void DistributedContext::broadcast(const std::vector<at::Tensor>& tensors) {
  if (!enabled()) return;
  torch::NoGradGuard no_grad;
  // One collective per dtype and device, not per tensor: a ResNet-50's BatchNorm buffers,
  // broadcast after every step, are 160 small tensors.
  std::vector<std::vector<at::Tensor>> groups;
  for (const auto& tensor : tensors) {
    const auto same_kind = [&](const std::vector<at::Tensor>& group) {
      return group.front().scalar_type() == tensor.scalar_type() &&
             group.front().device() == tensor.device();
    };
    const auto group = std::find_if(groups.begin(), groups.end(), same_kind);
    if (group == groups.end()) {
      groups.push_back({tensor});
    } else {
      group->push_back(tensor);
    }
  }
  for (const auto& group : groups) {
    std::vector<at::Tensor> flat{flatten(group)};
    impl_->wait(impl_->group->broadcast(flat), "broadcast");
    unflatten_into(group, flat[0]);
  }
}

void DistributedContext::average_gradients(const std::vector<at::Tensor>& parameters,
                                           int64_t bucket_bytes) {
  if (!enabled()) return;
  torch::NoGradGuard no_grad;
  const auto start = std::chrono::steady_clock::now();
  std::vector<at::Tensor> grads;
  for (const auto& p : parameters) {
    if (!p.requires_grad()) continue;
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }

  struct Bucket {
    std::vector<at::Tensor> grads;
    at::Tensor flat;
    c10::intrusive_ptr<c10d::Work> work;
  };
  std::vector<Bucket> buckets;
  int64_t bytes = 0;
  for (const auto& grad : grads) {
    const int64_t size = grad.numel() * static_cast<int64_t>(grad.element_size());
    const bool fits = !buckets.empty() && bytes + size <= bucket_bytes &&
                      buckets.back().grads.front().scalar_type() == grad.scalar_type() &&
                      buckets.back().grads.front().device() == grad.device();
    if (!fits) {
      buckets.emplace_back();
      bytes = 0;
    }
    buckets.back().grads.push_back(grad);
    bytes += size;
  }
  // All buckets are queued before the first wait, so the backend overlaps them.
  for (auto& bucket : buckets) {
    bucket.flat = flatten(bucket.grads);
    std::vector<at::Tensor> one{bucket.flat};
    bucket.work = impl_->group->allreduce(one);
  }
  const double scale = 1.0 / static_cast<double>(world_size());
  for (auto& bucket : buckets) {
    impl_->wait(bucket.work, "all-reduce of gradients");
    bucket.flat.mul_(scale);
    unflatten_into(bucket.grads, bucket.flat);
  }
  impl_->reduce_seconds += seconds_since(start);
}

at::Tensor DistributedContext::all_gather_rows(const at::Tensor& rows) {
  if (!enabled()) return rows;
  const at::Tensor input = rows.to(impl_->collective_device).contiguous();
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int64_t r = 0; r < world_size(); ++r) outputs[0].push_back(torch::empty_like(input));
  std::vector<at::Tensor> inputs{input};
  impl_->wait(impl_->group->allgather(outputs, inputs), "all-gather");
  return torch::cat(outputs[0]).to(rows.device());
}

void DistributedContext::check_identical(const std::vector<at::Tensor>& tensors) {
  if (!enabled() || tensors.empty()) return;
  torch::NoGradGuard no_grad;
  // Per tensor, the sum of its bit patterns as 32-bit integers: exact and independent of
  // summation order and hardware (replicas are bit-identical, not merely close), computed
  // where the tensor lives and without a copy of it.
  std::vector<at::Tensor> fingerprints;
  for (const auto& tensor : tensors) {
    TORCH_CHECK(tensor.element_size() % 4 == 0,
                "check_identical compares tensors of 4- or 8-byte elements");
    fingerprints.push_back(tensor.detach().contiguous().view({-1}).view(at::kInt).sum(at::kLong));
  }
  const at::Tensor all = all_gather_rows(torch::stack(fingerprints).view({1, -1})).cpu();
  for (int64_t r = 1; r < world_size(); ++r) {
    if (!torch::equal(all[r], all[0])) {
      throw Error("distributed replicas diverged: the parameters of rank " + std::to_string(r) +
                  " differ from rank 0's (a non-deterministic step or a mismatched build)");
    }
  }
}

void DistributedContext::barrier() {
  if (!enabled()) return;
  impl_->wait(impl_->group->barrier(), "barrier");
}

void DistributedContext::report_failure(const std::string& message) noexcept {
  if (!enabled() || impl_->reported_failure.exchange(true)) return;
  try {
    const std::string text = "rank " + std::to_string(rank()) + " of " +
                             std::to_string(world_size()) + " failed: " + first_line(message);
    impl_->store->set(kFailureKey, std::vector<uint8_t>(text.begin(), text.end()));
  } catch (const std::exception&) {
    // The store is gone (rank 0 exited): the peers' collectives fail on their own.
  }
}

double DistributedContext::reduce_seconds() const {
  return impl_->reduce_seconds;
}

}  // namespace greedyhash
