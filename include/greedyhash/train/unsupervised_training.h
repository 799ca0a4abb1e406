#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>
#include <nlohmann/json.hpp>

#include "greedyhash/io/config.h"
#include "greedyhash/model/unsupervised_loss.h"

namespace greedyhash {

struct UnsupervisedOptions {
  int64_t epochs = 60;
  int64_t batch_size = 32;
  double lr = 1e-4;
  int64_t lr_step = 100000;  // x0.1 every lr_step epochs; the official code never decays
  double momentum = 0.9;
  double weight_decay = 5e-4;
  double alpha = 0.1;
  double dropout = 0;  // on the features of each batch, before the hash layer and the loss
  // Train on the features minus their mean (the similarities to keep are then those of the
  // centred features); the layer handed back still takes raw features (the mean is folded
  // into its bias).
  bool center = false;
  uint64_t seed = 0;  // the order of each epoch and the dropout masks
};

// The settings of `config` for training unsupervised; `on_images` picks the dropout default
// (config.feature_dropout < 0): 0.5 on a backbone's features, 0 on embeddings.
UnsupervisedOptions unsupervised_options(const Config& config, bool on_images);

// One SGD step of the hash layer on a batch of features (docs/PROTOCOL.md section 7.2):
// h = layer(x), b = greedy_sign(h), the unsupervised loss, backward, SGD with momentum and
// weight decay on the layer's weight and bias (torch.optim.SGD's update).
class UnsupervisedStep {
 public:
  UnsupervisedStep(torch::nn::Linear layer, const UnsupervisedOptions& options);
  UnsupervisedLossTerms operator()(const at::Tensor& features);
  void set_learning_rate(double lr);

 private:
  torch::nn::Linear layer_;
  double alpha_;
  std::unique_ptr<torch::optim::SGD> sgd_;
};

// Trains `layer` (D -> K) on `features` (N x D float, N >= 2) for options.epochs
// epochs: each epoch a seeded random order (derive_seed(seed, epoch)), batches of
// options.batch_size rows (the last one smaller), dropout with a mask stream seeded the same
// way, so a run is reproducible from the seed. After each epoch, after_epoch(epochs_done,
// record) with record = {epoch, lr, loss, loss_similarity, loss_quantization, seconds,
// rows_per_s}; `layer` then holds the weights of that epoch. A non-finite loss is a
// greedyhash::Error naming the epoch.
void train_hash_layer(torch::nn::Linear layer, const at::Tensor& features,
                      const UnsupervisedOptions& options,
                      const std::function<void(int64_t, const nlohmann::json&)>& after_epoch);

}  // namespace greedyhash
