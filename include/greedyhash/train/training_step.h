#pragma once

#include <memory>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <torch/optim/sgd.h>

#include "greedyhash/data/batch_loader.h"
#include "greedyhash/io/config.h"
#include "greedyhash/model/greedy_hash.h"
#include "greedyhash/model/loss.h"

namespace greedyhash {

class DistributedContext;

struct TrainingStepOptions {
  double lr = 1e-3;
  double momentum = 0.9;
  double weight_decay = 5e-4;
  double alpha = 0.1;
  std::string precision = "fp32";  // "bf16": the forward pass under AutocastScope
  c10::Device device = c10::Device(c10::kCPU);
  bool multi_label = false;  // BCE on the multi-hot labels instead of cross-entropy
  // FusedMomentumSGD (no separate gradient tensors: ~380 MB less for AlexNet) where it
  // applies, that is with momentum; torch::optim::SGD otherwise or when false.
  bool fused_optimizer = true;
};

// The step greedyhash_train takes with `config`'s settings (learning rate before any
// schedule, momentum, weight decay, alpha, precision) on `device`.
TrainingStepOptions training_step_options(const Config& config, c10::Device device);

// Seconds spent in each part of the steps taken while a TrainingStep records into it
// (TrainingStep::record_profile), summed. Each part ends with a device synchronisation,
// which costs a GPU its overlap of host and device work: for profiles, not for training.
struct StepProfile {
  int64_t steps = 0;
  double forward = 0;        // forward pass and loss, at the step's precision
  double backward = 0;       // autograd (FusedMomentumSGD prepares its momentum in it)
  double gradient_sync = 0;  // the gradients' mean over ranks (data-parallel only)
  double optimizer = 0;      // the SGD update
  double buffer_sync = 0;    // rank 0's BatchNorm statistics (data-parallel only)
};

// One SGD step of GreedyHash, as greedyhash_train takes it and the pipeline benchmark
// measures it: forward at the step's precision, loss (docs/PROTOCOL.md section 1.3), backward,
// the gradients' mean over ranks when data-parallel, the optimiser's step, and then rank 0's
// buffers (BatchNorm's running statistics) on every rank. The loss terms
// stay on the device: reading them is the caller's choice (a host sync on a GPU).
class TrainingStep {
 public:
  TrainingStep(GreedyHash model, const TrainingStepOptions& options,
               DistributedContext* distributed = nullptr);

  LossTerms operator()(const Batch& batch);

  void set_learning_rate(double lr);
  // From now on, adds each step's parts to `profile` (nullptr: stops). Not owned.
  void record_profile(StepProfile* profile) { profile_ = profile; }
  torch::optim::SGD& optimizer() { return *sgd_; }

 private:
  GreedyHash model_;
  TrainingStepOptions options_;
  DistributedContext* distributed_;
  std::vector<at::Tensor> buffers_;  // BatchNorm's running statistics, kept equal to rank 0's
  std::unique_ptr<torch::optim::SGD> sgd_;
  StepProfile* profile_ = nullptr;
};

}  // namespace greedyhash
