#include "greedyhash/train/training_step.h"

#include <chrono>

#include <torch/torch.h>

#include "greedyhash/data/image_dataset.h"
#include "greedyhash/runtime/autocast.h"
#include "greedyhash/train/distributed.h"
#include "greedyhash/train/fused_momentum_sgd.h"

namespace greedyhash {

namespace {

// The parameters that train: a frozen backbone's are left out, so the optimiser keeps no
// momentum for them.
std::vector<torch::Tensor> trainable(const std::vector<torch::Tensor>& parameters) {
  std::vector<torch::Tensor> out;
  for (const auto& p : parameters) {
    if (p.requires_grad()) out.push_back(p);
  }
  return out;
}

std::unique_ptr<torch::optim::SGD> make_sgd(std::vector<torch::Tensor> params,
                                            const TrainingStepOptions& options) {
  const auto sgd = torch::optim::SGDOptions(options.lr)
                       .momentum(options.momentum)
                       .weight_decay(options.weight_decay);
  if (options.fused_optimizer && options.momentum > 0) {
    return std::make_unique<FusedMomentumSGD>(std::move(params), sgd);
  }
  return std::make_unique<torch::optim::SGD>(std::move(params), sgd);
}

}  // namespace

TrainingStepOptions training_step_options(const Config& config, c10::Device device) {
  TrainingStepOptions options;
  options.lr = config.lr;
  options.momentum = config.momentum;
  options.weight_decay = config.weight_decay;
  options.alpha = config.alpha;
  options.precision = config.precision;
  options.device = device;
  return options;
}

TrainingStep::TrainingStep(GreedyHash model, const TrainingStepOptions& options,
                           DistributedContext* distributed)
    : model_(std::move(model)),
      options_(options),
      distributed_(distributed),
      buffers_(model_->buffers()),
      sgd_(make_sgd(trainable(model_->parameters()), options)) {}

namespace {

// The loss is computed in float32 at least: under autocast the outputs are bf16; a
// float64 model (tests) keeps its precision.
torch::Tensor at_least_float(const torch::Tensor& t) {
  return t.scalar_type() == torch::kDouble ? t : t.to(torch::kFloat);
}

}  // namespace

namespace {

// Ends the parts of a step in a StepProfile, when one is recorded into.
class PartClock {
 public:
  PartClock(StepProfile* profile, c10::Device device)
      : profile_(profile), device_(device), last_(std::chrono::steady_clock::now()) {}

  void end(double StepProfile::*part) {
    if (profile_ == nullptr) return;
    if (device_.is_cuda()) torch::cuda::synchronize(device_.index() < 0 ? 0 : device_.index());
    const auto now = std::chrono::steady_clock::now();
    profile_->*part += std::chrono::duration<double>(now - last_).count();
    last_ = now;
  }

 private:
  StepProfile* profile_;
  c10::Device device_;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace

LossTerms TrainingStep::operator()(const Batch& batch) {
  PartClock clock(profile_, options_.device);
  const auto targets =
      options_.multi_label ? batch.labels.to(torch::kFloat) : class_ids_of(batch.labels);
  LossTerms terms;
  {
    AutocastScope autocast(options_.device, options_.precision);
    const auto out = model_->forward(batch.images);
    terms = greedy_hash_loss(at_least_float(out.logits), at_least_float(out.h), targets,
                             options_.alpha);
  }
  clock.end(&StepProfile::forward);
  sgd_->zero_grad();
  terms.total.backward();
  clock.end(&StepProfile::backward);
  // The one use of gradients between backward and step. Under FusedMomentumSGD .grad
  // holds momentum updates there; the mean over ranks is exact all the same
  // (DistributedContext::average_gradients says why); anything not linear is not.
  if (distributed_ != nullptr) distributed_->average_gradients(model_->parameters());
  clock.end(&StepProfile::gradient_sync);
  sgd_->step();
  clock.end(&StepProfile::optimizer);
  // Each rank's forward moved its BatchNorm running statistics by its own batch; rank 0's
  // replace them, as PyTorch's DistributedDataParallel does before every forward
  // (broadcast_buffers). Done after the step instead, the replicas are identical between
  // steps: at an evaluation, a checkpoint or the end-of-epoch check.
  if (distributed_ != nullptr && !buffers_.empty()) distributed_->broadcast(buffers_);
  clock.end(&StepProfile::buffer_sync);
  if (profile_ != nullptr) ++profile_->steps;
  return terms;
}

void TrainingStep::set_learning_rate(double lr) {
  for (auto& group : sgd_->param_groups()) {
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
  }
}

}  // namespace greedyhash
