#include "greedyhash/train/unsupervised_training.h"

#include <torch/torch.h>

#include <cmath>
#include <numeric>

#include "greedyhash/data/seeded_shuffle.h"
#include "greedyhash/error.h"
#include "greedyhash/model/greedy_sign.h"
#include "greedyhash/report/progress.h"
#include "greedyhash/train/learning_rate.h"

namespace greedyhash {

namespace {

constexpr double kImageDropout = 0.5;  // VGG-16's dropout after fc7, active in train mode

std::vector<int64_t> epoch_order(int64_t rows, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(rows));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(derive_seed(seed, static_cast<uint64_t>(epoch)));
  fisher_yates_shuffle(order, rng);
  return order;
}

// Every op of a step works on one batch (32 x D): far below the size where OpenMP's
// threads pay for their synchronisation. On the CPU the epochs run on one thread: 1.7 s an
// epoch against 4.2-5.5 s on 2 threads (50,000 x 3,072 features, 64 bits; profile: libgomp's
// spinning and sched_yield). The caller's thread count is restored afterwards.
class OneThreadOnCpu {
 public:
  explicit OneThreadOnCpu(const c10::Device& device) : threads_(at::get_num_threads()) {
    if (device.is_cpu()) at::set_num_threads(1);
  }
  ~OneThreadOnCpu() { at::set_num_threads(threads_); }
  OneThreadOnCpu(const OneThreadOnCpu&) = delete;
  OneThreadOnCpu& operator=(const OneThreadOnCpu&) = delete;

 private:
  int threads_;
};

}  // namespace

UnsupervisedOptions unsupervised_options(const Config& config, bool on_images) {
  UnsupervisedOptions options;
  options.epochs = config.epochs;
  options.batch_size = config.batch_size;
  options.lr = config.lr;
  options.lr_step = config.lr_step;
  options.momentum = config.momentum;
  options.weight_decay = config.weight_decay;
  options.alpha = config.alpha;
  options.dropout =
      config.feature_dropout >= 0 ? config.feature_dropout : (on_images ? kImageDropout : 0.0);
  options.seed = static_cast<uint64_t>(config.seed);
  options.center = config.center_features;
  return options;
}

UnsupervisedStep::UnsupervisedStep(torch::nn::Linear layer, const UnsupervisedOptions& options)
    : layer_(std::move(layer)), alpha_(options.alpha) {
  sgd_ = std::make_unique<torch::optim::SGD>(layer_->parameters(),
                                             torch::optim::SGDOptions(options.lr)
                                                 .momentum(options.momentum)
                                                 .weight_decay(options.weight_decay));
}

UnsupervisedLossTerms UnsupervisedStep::operator()(const at::Tensor& features) {
  sgd_->zero_grad();
  const auto h = layer_->forward(features);
  UnsupervisedLossTerms terms = unsupervised_hash_loss(features, h, greedy_sign(h), alpha_);
  terms.total.backward();
  sgd_->step();
  return terms;
}

void UnsupervisedStep::set_learning_rate(double lr) {
  for (auto& group : sgd_->param_groups()) {
    static_cast<torch::optim::SGDOptions&>(group.options()).lr(lr);
  }
}

void train_hash_layer(torch::nn::Linear layer, const at::Tensor& features,
                      const UnsupervisedOptions& options,
                      const std::function<void(int64_t, const nlohmann::json&)>& after_epoch) {
  const int64_t rows = features.size(0);
  if (rows < 2) throw Error("unsupervised training needs at least 2 feature rows");
  const OneThreadOnCpu one_thread(features.device());
  // Centred: a copy of the layer (same initial weights) trains on x - mean; after each
  // epoch `layer` gets its weight and the bias b - W mean, which give the same h on raw x.
  at::Tensor mean;
  torch::nn::Linear trained = layer;
  at::Tensor inputs = features;
  if (options.center) {
    mean = features.mean(0);
    inputs = features - mean;
    trained = torch::nn::Linear(layer->options);
    torch::NoGradGuard no_grad;
    trained->weight.copy_(layer->weight);
    trained->bias.copy_(layer->bias);
    trained->to(features.device());
  }
  const auto publish = [&] {
    if (!options.center) return;
    torch::NoGradGuard no_grad;
    layer->weight.copy_(trained->weight);
    layer->bias.copy_(trained->bias - torch::mv(trained->weight, mean));
  };
  UnsupervisedStep step(trained, options);
  trained->train();
  const int64_t batches = (rows + options.batch_size - 1) / options.batch_size;
  for (int64_t epoch = 0; epoch < options.epochs; ++epoch) {
    const double lr = learning_rate(options.lr, options.lr_step, epoch);
    step.set_learning_rate(lr);
    const auto order =
        torch::tensor(epoch_order(rows, options.seed, epoch), torch::TensorOptions(torch::kLong));
    torch::manual_seed(derive_seed(derive_seed(options.seed, static_cast<uint64_t>(epoch)), 1));
    Progress progress("epoch " + std::to_string(epoch + 1) + "/" + std::to_string(options.epochs),
                      batches);
    double sums[3] = {0, 0, 0};
    int64_t steps = 0, seen = 0;
    for (int64_t start = 0; start < rows; start += options.batch_size) {
      const int64_t size = std::min(options.batch_size, rows - start);
      auto batch = inputs.index_select(0, order.narrow(0, start, size).to(inputs.device()));
      if (options.dropout > 0) batch = torch::dropout(batch, options.dropout, /*train=*/true);
      // A last batch of one row has no pair: it is left out, as PyTorch would fail on it.
      if (size < 2) break;
      const UnsupervisedLossTerms terms = step(batch);
      sums[0] += terms.total.item<double>();
      sums[1] += terms.similarity.item<double>();
      sums[2] += terms.quantization.item<double>();
      ++steps;
      seen += size;
      progress.update(steps, seen);
    }
    progress.finish();
    if (!std::isfinite(sums[0])) {
      throw Error("loss became " + std::to_string(sums[0]) + " in epoch " +
                  std::to_string(epoch + 1) + "; lower --lr or check the features");
    }
    const double n = static_cast<double>(std::max<int64_t>(steps, 1));
    publish();
    after_epoch(epoch + 1, nlohmann::json{{"epoch", epoch + 1},
                                          {"lr", lr},
                                          {"loss", sums[0] / n},
                                          {"loss_similarity", sums[1] / n},
                                          {"loss_quantization", sums[2] / n},
                                          {"seconds", progress.seconds()},
                                          {"rows_per_s", progress.items_per_second()}});
  }
}

}  // namespace greedyhash
