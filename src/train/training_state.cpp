#include "greedyhash/train/training_state.h"

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <mutex>
#include <string>
#include <vector>

#include "greedyhash/error.h"
#include "greedyhash/serialize/atomic_file.h"
#include "greedyhash/serialize/zip_sink.h"

namespace greedyhash {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kTrainingStateFormatVersion = 1;

// Where an optimiser's parameters live (the first one's device; a model is on one device).
at::Device parameters_device(const torch::optim::Optimizer& optimizer) {
  for (const auto& group : optimizer.param_groups()) {
    if (!group.params().empty()) return group.params().front().device();
  }
  return at::Device(at::kCPU);
}

}  // namespace

void save_training_state(const fs::path& file, const torch::optim::Optimizer& optimizer,
                         const TrainingState& state) {
  torch::serialize::OutputArchive archive;
  torch::serialize::OutputArchive optimizer_archive(archive.compilation_unit());
  optimizer.save(optimizer_archive);
  archive.write("optimizer", optimizer_archive);
  // LibTorch 1.13 restores per-parameter state but not the options, later versions do
  // both; saving the learning rates here makes a resume the same under either.
  const auto& groups = optimizer.param_groups();
  archive.write("param_groups", static_cast<int64_t>(groups.size()));
  for (size_t g = 0; g < groups.size(); ++g) {
    archive.write("lr_" + std::to_string(g), groups[g].options().get_lr());
  }
  archive.write("format_version", kTrainingStateFormatVersion);
  archive.write("epoch", state.epoch);
  archive.write("extra", state.extra.dump());
  {
    auto cpu = at::globalContext().defaultGenerator(at::kCPU);
    std::lock_guard<std::mutex> lock(cpu.mutex());
    archive.write("rng_cpu", cpu.get_state());
  }
  const int64_t cuda_devices = torch::cuda::is_available() ? torch::cuda::device_count() : 0;
  archive.write("cuda_devices", cuda_devices);
  for (int64_t i = 0; i < cuda_devices; ++i) {
    auto cuda = at::globalContext().defaultGenerator(
        at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(cuda.mutex());
    archive.write("rng_cuda_" + std::to_string(i), cuda.get_state());
  }
  // Written as it is serialised: the momentum buffers are as large as the model.
  write_file_atomically(file, [&](const ByteSink& sink) {
    write_zip_to_sink(sink, [&](const ZipWriterFunction& writer) { archive.save_to(writer); });
  });
}

TrainingState load_training_state(const fs::path& file, torch::optim::Optimizer& optimizer) {
  const std::string name = file.string();
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) throw Error(name + ": no such training state file");
  TrainingState state;
  try {
    // The momentum buffers go where the parameters are (a GPU when training on one); the
    // generator states are read back to the CPU below.
    torch::serialize::InputArchive archive;
    archive.load_from(name, parameters_device(optimizer));
    c10::IValue value;
    if (!archive.try_read("format_version", value) || !value.isInt()) {
      throw Error(name + ": not a greedyhash training state file");
    }
    if (value.toInt() > kTrainingStateFormatVersion) {
      throw Error(name + ": training state format version " + std::to_string(value.toInt()) +
                  " is newer than this greedyhash reads; use a newer greedyhash");
    }
    archive.read("epoch", value);
    state.epoch = value.toInt();
    archive.read("extra", value);
    state.extra = nlohmann::json::parse(value.toStringRef());

    // Read every generator state before changing anything.
    archive.read("rng_cpu", value);
    const at::Tensor cpu_state = value.toTensor().cpu();
    archive.read("cuda_devices", value);
    const int64_t saved_cuda = value.toInt();
    const int64_t present_cuda = torch::cuda::is_available() ? torch::cuda::device_count() : 0;
    std::vector<at::Tensor> cuda_states;
    for (int64_t i = 0; i < std::min(saved_cuda, present_cuda); ++i) {
      archive.read("rng_cuda_" + std::to_string(i), value);
      cuda_states.push_back(value.toTensor().cpu());
    }
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    archive.read("param_groups", value);
    if (value.toInt() != static_cast<int64_t>(optimizer.param_groups().size())) {
      throw Error(name + ": saved for an optimizer with " + std::to_string(value.toInt()) +
                  " parameter groups, this one has " +
                  std::to_string(optimizer.param_groups().size()));
    }
    std::vector<double> lrs;
    for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
      archive.read("lr_" + std::to_string(g), value);
      lrs.push_back(value.toDouble());
    }

    optimizer.load(optimizer_archive);
    for (size_t g = 0; g < lrs.size(); ++g) optimizer.param_groups()[g].options().set_lr(lrs[g]);
    {
      auto cpu = at::globalContext().defaultGenerator(at::kCPU);
      std::lock_guard<std::mutex> lock(cpu.mutex());
      cpu.set_state(cpu_state);
    }
    for (size_t i = 0; i < cuda_states.size(); ++i) {
      auto cuda = at::globalContext().defaultGenerator(
          at::Device(at::kCUDA, static_cast<c10::DeviceIndex>(i)));
      std::lock_guard<std::mutex> lock(cuda.mutex());
      cuda.set_state(cuda_states[i]);
    }
  } catch (const c10::Error& e) {
    throw Error(name + ": corrupt, truncated or incompatible training state (" +
                first_line(e.what_without_backtrace()) + ")");
  } catch (const nlohmann::json::exception& e) {
    throw Error(name + ": corrupt training state (extra data is not JSON: " + e.what() + ")");
  }
  return state;
}

}  // namespace greedyhash
